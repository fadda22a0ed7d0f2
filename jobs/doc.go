// Package jobs moves closed recording segments from local disk to the
// object store and turns them into finished recordings, as asynq tasks on
// Redis that any worker can run:
//
//	recording:upload   one segment: put, verify size and SHA-256, mark it
//	                   uploaded in the catalog, then remove the local file
//	recording:finalize after the stop and the last upload: composite.mp4
//	                   (remuxed, index first), thumbnail.jpg, manifest.json,
//	                   state ready
//	recording:notify   the ready recording POSTed to a webhook, signed
//	recording:postprocess after ready: audio.m4a, contact.jpg, renditions,
//	                   a speaker timeline (or waveform) in manifest.json
//	recording:compose  raw tracks rendered again (layout, size, range) into
//	                   compositions/<cid>.mp4; progress and cancel in Redis
//
// Every task has a unique ID (upload:<rec>:<index>, finalize:<rec>,
// notify:<rec>) kept for a day after it finishes, so duplicates and retries
// never run a job twice, and every handler is idempotent. The Enqueuer keeps
// tasks it cannot enqueue in an outbox directory until Redis is back.
//
// Media work (remux, thumbnail) is injected through Media, rendering
// through Renderer and post-processing through PostMedia: jobs knows
// nothing of GStreamer.
package jobs
