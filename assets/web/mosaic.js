// Small helpers shared by the pages: tokens, the JSON API, WHIP and WHEP.
export const params = new URLSearchParams(location.search);

export function adminToken() {
  const t = params.get('token');
  if (t) localStorage.setItem('mosaic.admin', t);
  return t || localStorage.getItem('mosaic.admin') || '';
}

export async function api(method, path, body, token = adminToken()) {
  const res = await fetch(path, {
    method,
    headers: { 'Authorization': 'Bearer ' + token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

export async function mintToken(room, role, identity) {
  return (await api('POST', '/api/tokens', { room, role, identity, ttl: '12h' })).token;
}

async function waitGathering(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise((resolve) => {
    const t = setTimeout(resolve, 2000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}

// negotiate POSTs the offer to a WHIP/WHEP endpoint and applies the answer.
async function negotiate(pc, url, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathering(pc);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) {
    let msg = res.statusText;
    try { msg = (await res.json()).error || msg; } catch (_) {}
    throw new Error(`${res.status}: ${msg}`);
  }
  const location = new URL(res.headers.get('Location'), url).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return {
    pc, location,
    async close() {
      try { await fetch(location, { method: 'DELETE', headers: { 'Authorization': 'Bearer ' + token } }); } catch (_) {}
      pc.close();
    },
  };
}

// publish sends the stream's tracks to a room over WHIP.
export async function publish(room, token, stream) {
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
  return negotiate(pc, `/rooms/${encodeURIComponent(room)}/whip`, token);
}

// view receives a room's composite over WHEP into the video element.
export async function view(room, token, video) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; };
  return negotiate(pc, `/rooms/${encodeURIComponent(room)}/whep`, token);
}
