// A voice client written from the Discord voice docs, with DAVE from @snazzah/davey (Rust,
// OpenMLS: the library discord.js uses), so the Go voice client and the simulator's voice server
// meet an implementation nobody in Cordage wrote. It speaks the voice websocket v8 and UDP
// itself: hello, identify (max_dave_protocol_version 1), ready, IP discovery, select protocol
// (aead_aes256_gcm_rtpsize or aead_xchacha20_poly1305_rtpsize, sealed with node:crypto),
// session description, heartbeats with seq_ack, resume after a dropped connection, and the
// DAVE ops 21-31 wired to davey's DAVESession.
//
// Flags (all --name value):
//   --endpoint     voice websocket URL or host:port (ws:// and ?v=8 are added when missing)
//   --server-id --user-id --session-id --token --channel-id   what Identify and DAVE need
//   --frames N     send N numbered frames as soon as audio can flow (DAVE active, or the session
//                  has no DAVE); default 0: wait for a "send" command
//   --commit-mode  eager (default: send op 28 at once), never (process proposals, send nothing),
//                  delay:<ms> (send op 28 after ms)
//   --max-dave     max_dave_protocol_version to identify with, default 1
//   --mode         transport mode: aead_aes256_gcm_rtpsize (default) or
//                  aead_xchacha20_poly1305_rtpsize (HChaCha20 here, then node:crypto's
//                  ChaCha20-Poly1305)
//   --timeout-ms   the peer exits by itself after this long, default 120000
//   --capture DIR  write every binary websocket message (both directions), the first RTP
//                  packets (as received, transport-sealed; the hex key is in DIR/key) and the
//                  first DAVE frames of each sender into DIR, one file each: seed material for
//                  the Go fuzzers
//
// Commands, one JSON object per line on stdin:
//   {"cmd":"send","count":N}        send N numbered frames (numbering continues), then 5 silence
//   {"cmd":"stats"}                 print a stats event
//   {"cmd":"reset"}                 forget what was received so far
//   {"cmd":"commit_mode","mode":M}  as --commit-mode
//   {"cmd":"drop"}                  cut the websocket without a close frame (the peer resumes)
//   {"cmd":"leave"}                 close the websocket with 1000, print stats, exit 0
// End of stdin is "leave".
//
// Output: one JSON object per line on stdout, each with "ev" (hello, ready, udp, session,
// key_package, external_sender, clients, disconnect, speaking, proposals, commit, welcome,
// invalid, prepare_transition, execute, prepare_epoch, sent, silence, stats, reset, closed,
// resumed, zombie, error, bye). "execute" and "stats" carry the DAVE epoch and its
// authenticator in hex. The token is never printed, nor the transport key (which only
// --capture writes, into its own directory).
//
// A numbered frame is FC 4E, the frame number as u32 big-endian, then 20 bytes each equal to
// the number's low byte: a 26-byte packet whose first byte is an Opus TOC (CELT, fullband,
// 20 ms, stereo, one frame) so nothing on the path mistakes it for the silence frame F8 FF FE.

import { DAVESession } from '@snazzah/davey';
import WebSocket from 'ws';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const AUDIO = 0; // davey MediaType.AUDIO
const AES = 'aead_aes256_gcm_rtpsize';
const XCHACHA = 'aead_xchacha20_poly1305_rtpsize';
const SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
const FRAME_LEN = 26;

// ---- arguments ----

const args = {};
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	if (!a.startsWith('--')) die(`unexpected argument ${a}`);
	const eq = a.indexOf('=');
	if (eq > 0) args[a.slice(2, eq)] = a.slice(eq + 1);
	else args[a.slice(2)] = process.argv[++i];
}
function arg(name, fallback) {
	const v = args[name];
	if (v === undefined || v === '') {
		if (fallback === undefined) die(`--${name} is required`);
		return fallback;
	}
	return v;
}
const userId = arg('user-id');
const serverId = arg('server-id');
const sessionId = arg('session-id');
const token = arg('token');
const channelId = arg('channel-id');
const maxDave = Number(arg('max-dave', '1'));
const MODE = arg('mode', AES);
if (MODE !== AES && MODE !== XCHACHA) die(`--mode must be ${AES} or ${XCHACHA}`);
const captureDir = arg('capture', '');
let captured = 0;
let capturedRTP = 0;
if (captureDir) fs.mkdirSync(captureDir, { recursive: true });
function capture(name, buf) {
	if (!captureDir || captured >= 500) return;
	captured++;
	fs.writeFileSync(path.join(captureDir, `${String(captured).padStart(3, '0')}-${name}.bin`), buf);
}
let autoFrames = Number(arg('frames', '0'));
let commitMode = arg('commit-mode', 'eager');
let endpoint = arg('endpoint');
if (!/^wss?:\/\//.test(endpoint)) endpoint = `ws://${endpoint}`;
if (!/[?&]v=/.test(endpoint)) endpoint += (endpoint.includes('?') ? '&' : endpoint.endsWith('/') ? '?' : '/?') + 'v=8';

function emit(ev, fields = {}) {
	process.stdout.write(JSON.stringify({ ev, ...fields }) + '\n');
}
function die(msg) {
	emit('error', { where: 'fatal', msg });
	process.exit(2);
}
function report(where, err) {
	emit('error', { where, msg: String((err && err.message) || err) });
}

const hardStop = setTimeout(() => {
	emit('error', { where: 'timeout', msg: 'peer timed out' });
	finish(3);
}, Number(arg('timeout-ms', '120000')));

// ---- state ----

let ws = null;
let lastSeq = -1; // last server seq seen, sent back as seq_ack
let heartbeatTimer = null;
let awaitingAck = false;
let resumes = 0;
let leaving = false;
let identified = false; // Ready seen once: later connections resume

let ssrc = 0;
let udp = null;
let udpHost = '';
let udpPort = 0;
let secretKey = null;
let sendNonce = 0;
let rtpSeq = crypto.randomInt(0, 0x10000);
let rtpTimestamp = crypto.randomInt(0, 0x100000000);
let speakingSent = false;

let daveVersion = 0; // negotiated protocol version in force for sending
let session = null;
let externalSender = null;
const recognized = new Set([userId]);
const pending = new Map(); // transition id -> protocol version
let lastCommit = null; // our latest op 28 commit, to tell whether an announced commit is ours

const ssrcUser = new Map();
const early = new Map(); // ssrc -> Opus payloads that came before the speaking event naming it
const recv = new Map(); // user -> counters
let unknownSSRC = 0;
let transportFailures = 0;
let nextFrame = 0;
let sentFrames = 0;
let sending = false;
const sendQueue = [];

function stats(user) {
	let s = recv.get(user);
	if (!s) {
		s = { frames: 0, dave: 0, plain: 0, silence: 0, other: 0, undecryptable: 0, dupes: 0, min: null, max: null, seen: new Set(), errors: [] };
		recv.set(user, s);
	}
	return s;
}

function daveState() {
	if (!session) return { dave: daveVersion, epoch: null, auth: null };
	let auth = null;
	let epoch = null;
	try {
		const a = session.getEpochAuthenticator();
		auth = a ? Buffer.from(a).toString('hex') : null;
		epoch = session.epoch === null || session.epoch === undefined ? null : Number(session.epoch);
	} catch (e) {
		report('dave_state', e);
	}
	return {
		dave: daveVersion,
		epoch,
		auth,
		status: session.status,
		ready: session.ready,
		users: session.getUserIds(),
		privacy_code: session.voicePrivacyCode,
	};
}

function printStats(ev = 'stats') {
	const out = {};
	for (const [user, s] of recv) {
		const { seen, ...rest } = s;
		rest.distinct = seen.size;
		rest.missing = s.min === null ? 0 : s.max - s.min + 1 - seen.size;
		out[user] = rest;
	}
	let waiting = 0;
	for (const q of early.values()) waiting += q.length;
	emit(ev, { ...daveState(), sent: sentFrames, recv: out, unknown_ssrc: unknownSSRC + waiting, transport_failures: transportFailures, resumes });
}

// ---- websocket ----

function connect(resume) {
	ws = new WebSocket(endpoint, { perMessageDeflate: false });
	ws.binaryType = 'nodebuffer';
	ws.on('open', () => {
		if (resume) send({ op: 7, d: { server_id: serverId, session_id: sessionId, token, seq_ack: lastSeq } });
		else send({ op: 0, d: { server_id: serverId, user_id: userId, session_id: sessionId, token, max_dave_protocol_version: maxDave } });
	});
	ws.on('message', (data, isBinary) => {
		try {
			if (isBinary) onBinary(data);
			else onJSON(JSON.parse(data.toString('utf8')));
		} catch (e) {
			report('message', e);
		}
	});
	ws.on('error', (e) => report('websocket', e));
	const mine = ws;
	ws.on('close', (code, reason) => {
		if (mine !== ws) return;
		clearInterval(heartbeatTimer);
		heartbeatTimer = null;
		emit('closed', { code, reason: reason.toString('utf8') });
		if (leaving) return finish(0);
		// Resumable per the voice close-code policy: network-level closes and 4015 (server crash).
		if ((code < 4000 || code === 4015) && identified && resumes < 5) {
			resumes++;
			connect(true);
			return;
		}
		finish(code === 1000 ? 0 : 1);
	});
}

function send(obj) {
	if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

function sendBinary(op, ...parts) {
	const msg = Buffer.concat([Buffer.from([op]), ...parts]);
	capture(`client-op${op}`, msg);
	if (ws && ws.readyState === WebSocket.OPEN) ws.send(msg);
}

function heartbeat() {
	if (awaitingAck) {
		// No ACK for a whole interval: the connection is a zombie; drop it and resume. (Not an
		// error event: on a loaded machine this is a late ACK, and the resume copes.)
		emit('zombie');
		ws.terminate();
		return;
	}
	awaitingAck = true;
	send({ op: 3, d: { t: Date.now(), seq_ack: lastSeq } });
}

function onJSON(m) {
	if (typeof m.seq === 'number') lastSeq = m.seq;
	const d = m.d;
	switch (m.op) {
		case 8: // Hello
			emit('hello', { v: d.v, heartbeat_interval: d.heartbeat_interval });
			clearInterval(heartbeatTimer);
			awaitingAck = false;
			heartbeatTimer = setInterval(heartbeat, Math.max(50, Number(d.heartbeat_interval)));
			break;
		case 2: // Ready
			identified = true;
			ssrc = d.ssrc;
			udpHost = d.ip;
			udpPort = d.port;
			emit('ready', { ssrc, port: d.port, modes: d.modes });
			if (!d.modes.includes(MODE)) die(`server does not offer ${MODE}: ${d.modes}`);
			discover().catch((e) => die(`IP discovery: ${e.message}`));
			break;
		case 4: // Session Description
			secretKey = Buffer.from(d.secret_key);
			if (captureDir) fs.writeFileSync(path.join(captureDir, 'key'), secretKey.toString('hex') + '\n');
			if (d.mode !== MODE || secretKey.length !== 32) die(`session description: mode ${d.mode}, key of ${secretKey.length} bytes`);
			daveVersion = d.dave_protocol_version || 0;
			emit('session', { mode: d.mode, dave: daveVersion });
			// Speaking now, so the others learn our SSRC before any audio (the relay forwards
			// nothing of ours before it either).
			speak();
			if (daveVersion > 0) daveReinit('session');
			maybeAutoSend();
			break;
		case 6:
			awaitingAck = false;
			break;
		case 9:
			awaitingAck = false;
			emit('resumed', { resumes });
			break;
		case 5: {
			const user = String(d.user_id);
			ssrcUser.set(d.ssrc, user);
			emit('speaking', { user, ssrc: d.ssrc, speaking: d.speaking });
			const q = early.get(d.ssrc);
			early.delete(d.ssrc);
			if (q) for (const opus of q) onOpus(user, opus);
			break;
		}
		case 11:
			for (const u of d.user_ids) recognized.add(String(u));
			emit('clients', { users: d.user_ids.map(String) });
			break;
		case 13:
			recognized.delete(String(d.user_id));
			emit('disconnect', { user: String(d.user_id) });
			break;
		case 21: // DAVE prepare transition
			emit('prepare_transition', { tid: d.transition_id, pv: d.protocol_version });
			prepareTransition(d.transition_id, d.protocol_version);
			break;
		case 22: // DAVE execute transition
			executeTransition(d.transition_id);
			break;
		case 24: // DAVE prepare epoch
			emit('prepare_epoch', { epoch: d.epoch, pv: d.protocol_version, tid: d.transition_id });
			if (d.epoch === 1) {
				// A new group: the server has reset it (first member, or sole-member reset).
				daveVersion = d.protocol_version;
				daveReinit('prepare_epoch');
			}
			break;
		default:
			// Undocumented ops (video, codecs, platform ...): not ours to act on.
			break;
	}
}

function onBinary(buf) {
	if (buf.length < 3) return report('binary', `binary message of ${buf.length} bytes`);
	lastSeq = buf.readUInt16BE(0);
	const op = buf[2];
	capture(`server-op${op}`, buf);
	const p = buf.subarray(3);
	switch (op) {
		case 25:
			externalSender = Buffer.from(p);
			emit('external_sender', { bytes: p.length });
			if (session) {
				try {
					session.setExternalSender(externalSender);
				} catch (e) {
					report('external_sender', e);
				}
			}
			break;
		case 27:
			onProposals(p[0], p.subarray(1));
			break;
		case 29:
			onCommit(p.readUInt16BE(0), p.subarray(2));
			break;
		case 30:
			onWelcome(p.readUInt16BE(0), p.subarray(2));
			break;
		default:
			report('binary', `unexpected binary op ${op}`);
	}
}

// ---- DAVE ----

function daveReinit(why) {
	try {
		if (session) session.reinit(daveVersion, userId, channelId);
		else {
			session = new DAVESession(daveVersion, userId, channelId);
			if (externalSender) session.setExternalSender(externalSender);
		}
		const kp = session.getSerializedKeyPackage();
		sendBinary(26, kp);
		emit('key_package', { why, bytes: kp.length });
	} catch (e) {
		report('reinit', e);
	}
}

function onProposals(opType, vec) {
	if (!session) return report('proposals', 'proposals before DAVE was negotiated');
	let r;
	try {
		r = session.processProposals(opType, vec, [...recognized]);
	} catch (e) {
		emit('proposals', { op: opType, ok: false, error: String(e.message || e) });
		return;
	}
	const ev = { op: opType, ok: true, commit: !!r.commit, welcome: !!r.welcome, mode: commitMode };
	if (!r.commit) return emit('proposals', ev);
	lastCommit = Buffer.from(r.commit);
	const parts = [r.commit];
	if (r.welcome) parts.push(r.welcome);
	if (commitMode === 'never') ev.sent = false;
	else if (commitMode.startsWith('delay:')) {
		ev.sent = 'delayed';
		setTimeout(() => sendBinary(28, ...parts), Number(commitMode.slice(6)));
	} else {
		ev.sent = true;
		sendBinary(28, ...parts);
	}
	emit('proposals', ev);
}

function invalid(tid, where, e) {
	emit('invalid', { tid, where, error: String((e && e.message) || e) });
	send({ op: 31, d: { transition_id: tid } });
	daveReinit('invalid');
}

function onCommit(tid, commit) {
	try {
		session.processCommit(commit);
	} catch (e) {
		return invalid(tid, 'commit', e);
	}
	// own: the server announced our commit, i.e. we won the race for this epoch.
	const own = lastCommit !== null && lastCommit.equals(commit);
	lastCommit = null;
	emit('commit', { tid, own, ...daveState() });
	joined(tid);
}

function onWelcome(tid, welcome) {
	try {
		session.processWelcome(welcome);
	} catch (e) {
		return invalid(tid, 'welcome', e);
	}
	emit('welcome', { tid, ...daveState() });
	joined(tid);
}

// joined: a commit or welcome moved us to a new epoch; wait for the execute, unless the
// transition is immediate.
function joined(tid) {
	if (tid === 0) {
		pending.set(0, daveVersion);
		executeTransition(0);
		return;
	}
	pending.set(tid, daveVersion);
	send({ op: 23, d: { transition_id: tid } });
}

function prepareTransition(tid, pv) {
	pending.set(tid, pv);
	if (pv === 0 && session) session.setPassthroughMode(true, 120); // downgrade pending: accept plain media
	if (tid === 0) executeTransition(0);
	else send({ op: 23, d: { transition_id: tid } });
}

function executeTransition(tid) {
	if (!pending.has(tid)) {
		emit('execute', { tid, unknown: true });
		return;
	}
	const pv = pending.get(tid);
	pending.delete(tid);
	const old = daveVersion;
	daveVersion = pv;
	if (old > 0 && pv === 0) {
		// Downgraded: send plain Opus, keep accepting plain.
		if (session) session.setPassthroughMode(true, 0);
	} else if (old === 0 && pv > 0) {
		if (session) session.setPassthroughMode(true, 10); // upgrade: plain frames still in flight
		else daveReinit('upgrade');
	}
	emit('execute', { tid, ...daveState() });
	maybeAutoSend();
}

// ---- UDP ----

function discover() {
	return new Promise((resolve, reject) => {
		udp = dgram.createSocket('udp4');
		udp.on('error', (e) => report('udp', e));
		let tries = 0;
		let timer = null;
		const req = Buffer.alloc(74);
		req.writeUInt16BE(1, 0);
		req.writeUInt16BE(70, 2);
		req.writeUInt32BE(ssrc, 4);
		const ask = () => {
			if (++tries > 10) {
				clearInterval(timer);
				reject(new Error('no answer after 10 tries'));
				return;
			}
			udp.send(req, udpPort, udpHost);
		};
		udp.on('message', (msg) => {
			if (timer !== null && msg.length === 74 && msg.readUInt16BE(0) === 2) {
				clearInterval(timer);
				timer = null;
				const end = msg.indexOf(0, 8);
				const address = msg.subarray(8, end < 0 || end > 72 ? 72 : end).toString('ascii');
				const port = msg.readUInt16BE(72);
				emit('udp', { address, port });
				send({ op: 1, d: { protocol: 'udp', data: { address, port, mode: MODE } } });
				resolve();
				return;
			}
			onPacket(msg);
		});
		udp.bind(0, '127.0.0.1', () => {
			timer = setInterval(ask, 300);
			ask();
		});
	});
}

function nonce12(counter) {
	const n = Buffer.alloc(12);
	n.writeUInt32BE(counter, 0);
	return n;
}

// hchacha20 derives XChaCha20's subkey from the key and the first 16 nonce bytes: the ChaCha20
// block function's 20 rounds without the final addition, keeping words 0-3 and 12-15.
function hchacha20(key, nonce16) {
	const x = new Uint32Array(16);
	x[0] = 0x61707865;
	x[1] = 0x3320646e;
	x[2] = 0x79622d32;
	x[3] = 0x6b206574;
	for (let i = 0; i < 8; i++) x[4 + i] = key.readUInt32LE(4 * i);
	for (let i = 0; i < 4; i++) x[12 + i] = nonce16.readUInt32LE(4 * i);
	const rotl = (v, n) => ((v << n) | (v >>> (32 - n))) >>> 0;
	const qr = (a, b, c, d) => {
		x[a] = (x[a] + x[b]) >>> 0; x[d] = rotl(x[d] ^ x[a], 16);
		x[c] = (x[c] + x[d]) >>> 0; x[b] = rotl(x[b] ^ x[c], 12);
		x[a] = (x[a] + x[b]) >>> 0; x[d] = rotl(x[d] ^ x[a], 8);
		x[c] = (x[c] + x[d]) >>> 0; x[b] = rotl(x[b] ^ x[c], 7);
	};
	for (let i = 0; i < 10; i++) {
		qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
		qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
	}
	const out = Buffer.alloc(32);
	for (let i = 0; i < 4; i++) {
		out.writeUInt32LE(x[i], 4 * i);
		out.writeUInt32LE(x[12 + i], 16 + 4 * i);
	}
	return out;
}

// aead returns a cipher or decipher for packet counter: AES-256-GCM with the counter in a
// 12-byte nonce, or XChaCha20-Poly1305 with it in a 24-byte nonce (its last 8 bytes, zero here,
// become the ChaCha20-Poly1305 nonce after 4 zero bytes).
function aead(decrypt, counter) {
	const make = decrypt ? crypto.createDecipheriv : crypto.createCipheriv;
	if (MODE === AES) return make('aes-256-gcm', secretKey, nonce12(counter), { authTagLength: 16 });
	const n24 = Buffer.alloc(24);
	n24.writeUInt32BE(counter, 0);
	const sub = hchacha20(secretKey, n24.subarray(0, 16));
	const n12 = Buffer.concat([Buffer.alloc(4), n24.subarray(16)]);
	return make('chacha20-poly1305', sub, n12, { authTagLength: 16 });
}

function sealPacket(payload) {
	const header = Buffer.alloc(12);
	header[0] = 0x80;
	header[1] = 0x78;
	header.writeUInt16BE(rtpSeq, 2);
	header.writeUInt32BE(rtpTimestamp >>> 0, 4);
	header.writeUInt32BE(ssrc, 8);
	rtpSeq = (rtpSeq + 1) & 0xffff;
	rtpTimestamp = (rtpTimestamp + 960) >>> 0;
	const counter = sendNonce;
	sendNonce = (sendNonce + 1) >>> 0;
	const c = aead(false, counter);
	c.setAAD(header);
	const body = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
	const n = Buffer.alloc(4);
	n.writeUInt32BE(counter, 0);
	return Buffer.concat([header, body, n]);
}

function openPacket(pkt) {
	if (pkt.length < 12 + 16 + 4 || pkt[0] >> 6 !== 2) return null;
	const cc = pkt[0] & 0x0f;
	let aadLen = 12 + 4 * cc;
	let extWords = 0;
	if (pkt[0] & 0x10) {
		if (pkt.length < aadLen + 4) return null;
		extWords = pkt.readUInt16BE(aadLen + 2);
		aadLen += 4;
	}
	const end = pkt.length - 4;
	if (end - 16 < aadLen) return null;
	try {
		const d = aead(true, pkt.readUInt32BE(end));
		d.setAAD(pkt.subarray(0, aadLen));
		d.setAuthTag(pkt.subarray(end - 16, end));
		const plain = Buffer.concat([d.update(pkt.subarray(aadLen, end - 16)), d.final()]);
		if (plain.length < 4 * extWords) return null;
		return plain.subarray(4 * extWords);
	} catch {
		return null;
	}
}

function isProtocolFrame(b) {
	return b.length > 11 && b[b.length - 1] === 0xfa && b[b.length - 2] === 0xfa;
}

function onPacket(pkt) {
	if (!secretKey || pkt.length < 12) return;
	if (pkt[1] >= 200 && pkt[1] <= 204) return; // RTCP
	if (capturedRTP < 20) {
		capturedRTP++;
		capture('rtp', pkt);
	}
	const from = pkt.readUInt32BE(8);
	const user = ssrcUser.get(from);
	const opus = openPacket(pkt);
	if (opus === null) {
		transportFailures++;
		return;
	}
	if (user === undefined) {
		// Audio can overtake the speaking event that names its sender; keep a little of it.
		let q = early.get(from);
		if (!q) early.set(from, (q = []));
		if (q.length < 100) q.push(opus);
		else unknownSSRC++;
		return;
	}
	onOpus(user, opus);
}

function onOpus(user, opus) {
	const s = stats(user);
	if (opus.equals(SILENCE)) {
		s.silence++;
		emit('silence', { user, count: s.silence });
		return;
	}
	let frame = opus;
	if (isProtocolFrame(opus)) {
		if (s.dave + s.undecryptable < 5) capture(`dave-frame-${user}`, opus);
		if (!session) {
			s.undecryptable++;
			return;
		}
		try {
			frame = session.decrypt(user, AUDIO, opus);
			s.dave++;
		} catch (e) {
			s.undecryptable++;
			if (s.errors.length < 5) s.errors.push(String(e.message || e));
			return;
		}
	} else {
		s.plain++;
	}
	if (frame.length !== FRAME_LEN || frame[0] !== 0xfc || frame[1] !== 0x4e) {
		s.other++;
		return;
	}
	const n = frame.readUInt32BE(2);
	s.frames++;
	if (s.seen.has(n)) s.dupes++;
	s.seen.add(n);
	if (s.min === null || n < s.min) s.min = n;
	if (s.max === null || n > s.max) s.max = n;
}

// ---- sending ----

function speak() {
	if (speakingSent) return;
	send({ op: 5, d: { speaking: 1, delay: 0, ssrc } });
	speakingSent = true;
}

function numbered(n) {
	const b = Buffer.alloc(FRAME_LEN, n & 0xff);
	b[0] = 0xfc;
	b[1] = 0x4e;
	b.writeUInt32BE(n >>> 0, 2);
	return b;
}

function canSend() {
	if (!secretKey || !udp) return false;
	return daveVersion === 0 || (session !== null && session.ready);
}

function maybeAutoSend() {
	if (autoFrames > 0 && canSend()) {
		const n = autoFrames;
		autoFrames = 0;
		queueSend(n);
	}
}

function queueSend(count) {
	sendQueue.push(count);
	if (!sending) pump();
}

// pump sends the queued frames on absolute 20 ms deadlines, then five silence frames.
function pump() {
	const count = sendQueue.shift();
	if (count === undefined) {
		sending = false;
		return;
	}
	sending = true;
	speak();
	const start = Date.now();
	const first = nextFrame;
	let k = 0;
	const total = count + 5;
	const tick = () => {
		let payload;
		if (k < count) {
			const f = numbered(nextFrame++);
			try {
				payload = daveVersion > 0 ? session.encryptOpus(f) : f;
			} catch (e) {
				report('encrypt', e);
				payload = null;
			}
			if (payload) sentFrames++;
		} else payload = SILENCE;
		if (payload) udp.send(sealPacket(payload), udpPort, udpHost);
		k++;
		if (k === total) {
			emit('sent', { first, last: nextFrame - 1, total: sentFrames });
			pump();
			return;
		}
		setTimeout(tick, Math.max(0, start + k * 20 - Date.now()));
	};
	tick();
}

// ---- commands ----

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
	if (!line.trim()) return;
	let m;
	try {
		m = JSON.parse(line);
	} catch (e) {
		return report('command', e);
	}
	switch (m.cmd) {
		case 'send':
			if (!canSend()) return report('command', 'send: audio cannot flow yet');
			queueSend(Number(m.count) || 0);
			break;
		case 'stats':
			printStats();
			break;
		case 'reset':
			recv.clear();
			emit('reset');
			break;
		case 'commit_mode':
			commitMode = String(m.mode);
			emit('commit_mode', { mode: commitMode });
			break;
		case 'drop':
			if (ws) ws.terminate();
			break;
		case 'leave':
			leave();
			break;
		default:
			report('command', `unknown command ${m.cmd}`);
	}
});
rl.on('close', leave);

function leave() {
	if (leaving) return;
	leaving = true;
	if (ws && ws.readyState === WebSocket.OPEN) {
		ws.close(1000);
		setTimeout(() => finish(0), 2000).unref();
	} else finish(0);
}

let finished = false;
function finish(code) {
	if (finished) return;
	finished = true;
	printStats('bye');
	clearTimeout(hardStop);
	clearInterval(heartbeatTimer);
	if (udp) udp.close();
	rl.close();
	process.exitCode = code;
	// Let stdout drain; nothing else keeps the process alive.
	setTimeout(() => process.exit(code), 50).unref();
}

connect(false);
