// Small helpers shared by the pages: tokens, the JSON API, WHIP and WHEP.
export const params = new URLSearchParams(location.search);

// adminToken is the admin token from ?token= (kept in localStorage for the
// other pages) or the one kept earlier.
export function adminToken() {
  const t = params.get('token');
  if (t) localStorage.setItem('mosaic.admin', t);
  return t || localStorage.getItem('mosaic.admin') || '';
}

// roomToken is the ?token= of a publish or watch page, kept per room and
// role so reloading the page without it still works.
export function roomToken(room, role) {
  const key = `mosaic.${role}.${room}`;
  const t = params.get('token');
  if (t) localStorage.setItem(key, t);
  return t || localStorage.getItem(key) || '';
}

// roomName is ?room= (default "demo").
export const roomName = () => params.get('room') || 'demo';

export async function api(method, path, body, token = adminToken()) {
  const res = await fetch(path, {
    method,
    headers: { 'Authorization': 'Bearer ' + token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (_) { data = { error: text }; }
  if (!res.ok) {
    const err = new Error(data.error || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

export async function mintToken(room, role, identity) {
  return (await api('POST', '/api/tokens', { room, role, identity, ttl: '12h' })).token;
}

// explain turns an API or WHIP error into a sentence for people.
export function explain(e) {
  const status = e.status || Number((/^(\d{3}):/.exec(e.message) || [])[1]);
  if (status === 401) return 'The token is missing, invalid or expired. Ask for a new link. (' + e.message + ')';
  if (status === 403) return 'The token does not allow this in this room. (' + e.message + ')';
  if (status === 404) return 'Not found: ' + e.message;
  if (status === 503) return 'The server is busy or shutting down; try again. (' + e.message + ')';
  if (e instanceof TypeError) return 'The server cannot be reached: ' + e.message;
  return e.message;
}

export function fmtBytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'kB', 'MB', 'GB'];
  const i = Math.min(u.length - 1, Math.floor(Math.log10(n) / 3));
  return (n / 1000 ** i).toFixed(i ? 1 : 0) + ' ' + u[i];
}

export function fmtDuration(s) {
  s = Math.round(s || 0);
  const m = Math.floor(s / 60), ss = String(s % 60).padStart(2, '0');
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// sparkline draws values (newest last) into a small canvas.
export function sparkline(canvas, values, color = '#4f8cff') {
  const c = canvas.getContext('2d'), w = canvas.width, h = canvas.height;
  c.clearRect(0, 0, w, h);
  if (values.length < 2) return;
  const max = Math.max(...values, 1e-9);
  c.strokeStyle = color; c.lineWidth = 1.5; c.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * (w - 2) + 1, y = h - 1 - (v / max) * (h - 3);
    i ? c.lineTo(x, y) : c.moveTo(x, y);
  });
  c.stroke();
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
    pc.close();
    const err = new Error(`${res.status}: ${msg}`);
    err.status = res.status;
    throw err;
  }
  const location = new URL(res.headers.get('Location') || '', new URL(url, document.baseURI)).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return {
    pc, location,
    async close() {
      try { await fetch(location, { method: 'DELETE', headers: { 'Authorization': 'Bearer ' + token } }); } catch (_) {}
      pc.close();
    },
  };
}

// publish sends the tracks to a room over WHIP (a camera and, optionally, a
// shared screen as a second video track).
export async function publish(room, token, tracks) {
  const pc = new RTCPeerConnection();
  for (const track of tracks) pc.addTransceiver(track, { direction: 'sendonly' });
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
