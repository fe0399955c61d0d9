// Connects @discordjs/ws — a gateway client nobody in Cordage wrote — to the standalone
// fakediscord simulator and checks the basics a real bot relies on:
//
//   1. every shard gets READY (with a resume_gateway_url that differs from the gateway URL, and
//      the guilds that (guild_id >> 22) % shards routes to it), then one GUILD_CREATE per guild;
//   2. heartbeats are acknowledged;
//   3. after the simulator drops shard 0's connection (through the control API), the client
//      resumes: RESUMED arrives, no second READY, and a dispatch emitted around the drop
//      reaches the client exactly once;
//   4. a scripted user's "!ping" (the control API's REST bridge) reaches the client on the
//      gateway; the client answers "pong" over REST with @discordjs/rest, its message comes
//      back on the gateway as MESSAGE_CREATE, and the simulator's channel holds both;
//   5. after op 7 Reconnect on the last shard, the client resumes there too;
//   6. with zlib-stream, a message whose inflated end falls exactly on a 32 KiB boundary of the
//      stream (the simulator's zlib-boundary fault) still decodes;
//   7. with INTEROP_INVALIDATE=1, after op 9 d=false on shard 0 the client identifies again
//      (waiting out the 5 s identify spacing) and gets a new session with READY and its guilds.
//
// Input comes from the environment (the Go test sets it from the simulator's printed URLs):
//   FAKEDISCORD_REST_URL     REST base, e.g. http://127.0.0.1:7878/api/v10
//   FAKEDISCORD_CONTROL_URL  control API base, e.g. http://127.0.0.1:7878/_fake
//   FAKEDISCORD_TOKEN        the bot token the simulator accepts
//   INTEROP_COMPRESSION      "none" (default) or "zlib" (zlib-stream inflated by node:zlib)
//   INTEROP_TIMEOUT_MS       overall bound, default 30000
//   INTEROP_INVALIDATE       "1" to run step 7 (adds about 5 s)
//   INTEROP_VERBOSE          non-empty: log every dispatch and the client's debug lines to stderr
//
// Exit 0 and one JSON summary line on stdout on success; exit 1 with "interop: FAIL: ..." on
// stderr otherwise. Never prints the token.

import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';

const GUILDS = 1 << 0;
const GUILD_MESSAGES = 1 << 9;
const ACKS_WANTED = 2;

function env(name, fallback) {
	const v = process.env[name];
	if (v === undefined || v === '') {
		if (fallback === undefined) fail(`environment variable ${name} is not set`);
		return fallback;
	}
	return v;
}

let manager = null;
let finished = false;

function fail(msg) {
	if (finished) return;
	finished = true;
	process.stderr.write(`interop: FAIL: ${msg}\n`);
	// Exit without waiting for destroy: a stuck client is exactly what a failure may be about.
	process.exit(1);
}

const restURL = env('FAKEDISCORD_REST_URL');
const controlURL = env('FAKEDISCORD_CONTROL_URL').replace(/\/+$/, '');
const token = env('FAKEDISCORD_TOKEN');
const compression = env('INTEROP_COMPRESSION', 'none');
const timeoutMs = Number(env('INTEROP_TIMEOUT_MS', '30000'));
const verbose = env('INTEROP_VERBOSE', '') !== '';
const invalidate = env('INTEROP_INVALIDATE', '') === '1';

const overall = setTimeout(() => fail(`timed out after ${timeoutMs} ms in phase "${phase}"`), timeoutMs);

let phase = 'state';

async function control(method, path, body) {
	const res = await fetch(`${controlURL}${path}`, {
		method,
		headers: body === undefined ? {} : { 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	if (!res.ok) fail(`control API ${method} ${path}: HTTP ${res.status}: ${text.trim()}`);
	return text === '' ? null : JSON.parse(text);
}

// @discordjs/rest builds `${api}/v${version}${route}`, so the simulator's versioned base is
// split back into api + version.
function splitRestBase(url) {
	const m = /^(.*)\/v(\d+)\/?$/.exec(url);
	if (!m) fail(`REST URL ${url} does not end in /v<version>`);
	return { api: m[1], version: m[2] };
}

function shardOf(guildID, shardCount) {
	return Number((BigInt(guildID) >> 22n) % BigInt(shardCount));
}

// One promise that some later event settles.
function deferred() {
	let resolve;
	const promise = new Promise((r) => {
		resolve = r;
	});
	return { promise, resolve };
}

async function main() {
	const state = await control('GET', '/state');
	const shardCount = state.shard_count;
	const gatewayURL = state.gateway_url;
	if (!Number.isInteger(shardCount) || shardCount < 1) fail(`state.shard_count is ${shardCount}`);
	const expected = new Map(); // shard -> Set of guild ids
	for (let i = 0; i < shardCount; i++) expected.set(i, new Set());
	for (const g of state.guilds) expected.get(shardOf(g.id, shardCount)).add(g.id);

	const { api, version } = splitRestBase(restURL);
	const rest = new REST({ api, version }).setToken(token);

	const shards = new Map();
	for (let i = 0; i < shardCount; i++) {
		shards.set(i, {
			ready: 0,
			readyData: null,
			resumed: 0,
			acks: 0,
			guildCreates: new Set(),
			markerSeen: 0,
			allIn: deferred(),
			acked: deferred(),
			resumedOnce: deferred(),
			sessions: [], // session ids in the order READY brought them
			newSessionAllowed: false,
			secondSession: deferred(),
			marker: deferred(),
			boundarySeen: deferred(),
		});
	}
	// Markers travel in the message id (a snowflake-shaped string), which no intent rule strips.
	// Callbacks that look at every MESSAGE_CREATE, for the ping-pong step.
	const messageWaiters = new Set();
	const nextMessage = (pred) =>
		new Promise((resolve) => {
			const w = (d, shardId) => {
				if (pred(d, shardId)) {
					messageWaiters.delete(w);
					resolve({ d, shardId });
				}
			};
			messageWaiters.add(w);
		});
	const marker = String(BigInt(Date.now()) << 22n | BigInt(process.pid & 0x3fffff));
	const boundaryMarker = String(BigInt(marker) + 1n);

	manager = new WebSocketManager({
		token,
		intents: GUILDS | GUILD_MESSAGES,
		rest,
		version,
		compression: compression === 'zlib' ? CompressionMethod.ZlibNative : null,
		// Bounds so that a broken handshake fails the run instead of hanging it.
		helloTimeout: 10_000,
		readyTimeout: 10_000,
	});

	const checkAllIn = (s) => {
		const st = shards.get(s);
		const want = expected.get(s);
		if (st.ready >= 1 && st.guildCreates.size === want.size) st.allIn.resolve();
	};

	manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
		const st = shards.get(shardId);
		if (!st) fail(`dispatch for unknown shard ${shardId}`);
		if (verbose) process.stderr.write(`interop: shard ${shardId} ${payload.t} s=${payload.s}\n`);
		switch (payload.t) {
			case 'READY': {
				st.ready++;
				if (st.ready > 1 && !st.newSessionAllowed) fail(`shard ${shardId} got a second READY: the client re-identified instead of resuming`);
				st.newSessionAllowed = false;
				const d = payload.d;
				st.readyData = d;
				if (st.sessions.includes(d.session_id)) fail(`shard ${shardId}: READY repeats session ${d.session_id}`);
				st.sessions.push(d.session_id);
				if (st.ready > 1) {
					st.guildCreates = new Set();
					st.allIn = deferred();
					st.secondSession.resolve(st.allIn);
				}
				if (typeof d.session_id !== 'string' || d.session_id === '') fail(`shard ${shardId}: READY without session_id`);
				if (typeof d.resume_gateway_url !== 'string' || d.resume_gateway_url === '') fail(`shard ${shardId}: READY without resume_gateway_url`);
				if (sameURL(d.resume_gateway_url, gatewayURL)) fail(`shard ${shardId}: resume_gateway_url equals the gateway URL`);
				if (!Array.isArray(d.shard) || d.shard[0] !== shardId || d.shard[1] !== shardCount) fail(`shard ${shardId}: READY.shard is ${JSON.stringify(d.shard)}`);
				const got = new Set((d.guilds ?? []).map((g) => g.id));
				const want = expected.get(shardId);
				if (!sameSet(got, want)) fail(`shard ${shardId}: READY.guilds ${JSON.stringify([...got])}, want ${JSON.stringify([...want])}`);
				checkAllIn(shardId);
				break;
			}
			case 'GUILD_CREATE': {
				const id = payload.d.id;
				if (!expected.get(shardId).has(id)) fail(`shard ${shardId}: GUILD_CREATE for guild ${id}, which routes to shard ${shardOf(id, shardCount)}`);
				if (st.guildCreates.has(id)) fail(`shard ${shardId}: second GUILD_CREATE for guild ${id}`);
				st.guildCreates.add(id);
				checkAllIn(shardId);
				break;
			}
			case 'RESUMED':
				st.resumed++;
				st.resumedOnce.resolve();
				break;
			case 'MESSAGE_CREATE':
				for (const w of messageWaiters) w(payload.d, shardId);
				if (payload.d?.id === marker) {
					st.markerSeen++;
					if (st.markerSeen > 1) fail(`shard ${shardId}: the marker event arrived ${st.markerSeen} times`);
					st.marker.resolve();
				} else if (payload.d?.id === boundaryMarker) {
					st.boundarySeen.resolve();
				}
				break;
			default:
				break;
		}
	});
	manager.on(WebSocketShardEvents.HeartbeatComplete, (_stats, shardId) => {
		const st = shards.get(shardId);
		st.acks++;
		if (st.acks >= ACKS_WANTED) st.acked.resolve();
	});
	manager.on(WebSocketShardEvents.Error, (err, shardId) => fail(`shard ${shardId}: client error: ${err?.message ?? err}`));
	if (verbose) manager.on(WebSocketShardEvents.Debug, (msg, shardId) => process.stderr.write(`interop: [${shardId}] ${msg}\n`));

	phase = 'connect';
	await manager.connect();

	phase = 'ready and guilds';
	await Promise.all([...shards.values()].map((s) => s.allIn.promise));

	phase = 'heartbeat acks';
	await Promise.all([...shards.values()].map((s) => s.acked.promise));

	// Drop shard 0 and, at once, emit a message to one of its guilds. Whether the event leaves
	// before the drop or lands in the session's buffer, the client must see it exactly once.
	phase = 'drop and resume';
	const s0 = shards.get(0);
	const sessionBefore = s0.readyData.session_id;
	const guild0 = [...expected.get(0)][0];
	await control('POST', '/faults/drop', { shard: 0 });
	if (guild0 !== undefined) {
		await control('POST', '/dispatch', {
			guild_id: guild0,
			t: 'MESSAGE_CREATE',
			d: message(marker, guild0),
		});
	}
	await s0.resumedOnce.promise;
	if (guild0 !== undefined) {
		phase = 'marker after resume';
		await s0.marker.promise;
	}

	let boundaryChecked = false;
	if (compression === 'zlib') {
		// The next dispatch on the shard is padded so that its inflated output ends exactly on a
		// 32 KiB boundary of the stream.
		phase = 'zlib window boundary';
		const last = shardCount - 1;
		const guild = [...expected.get(last)][0];
		if (guild !== undefined) {
			await control('POST', '/faults/zlib-boundary', { shard: last });
			await control('POST', '/dispatch', { guild_id: guild, t: 'MESSAGE_CREATE', d: message(boundaryMarker, guild) });
			await shards.get(last).boundarySeen.promise;
			boundaryChecked = true;
		}
	}

	let pingPong = false;
	if (guild0 !== undefined) {
		phase = 'ping-pong through the REST bridge';
		const pingSeen = nextMessage((d, sh) => d.content === '!ping' && d.guild_id === guild0 && sh === 0);
		const ping = await control('POST', '/rest/messages', { guild_id: guild0, member: 0, content: '!ping' });
		const { d: pingMsg } = await pingSeen;
		if (pingMsg.id !== String(ping.id)) fail(`the gateway's !ping has id ${pingMsg.id}, the bridge said ${ping.id}`);
		if (pingMsg.author?.bot) fail('the scripted user\'s message is marked as from a bot');
		const pongSeen = nextMessage((d) => d.content === 'pong' && d.channel_id === pingMsg.channel_id);
		const pong = await rest.post(`/channels/${pingMsg.channel_id}/messages`, {
			body: { content: 'pong', message_reference: { message_id: pingMsg.id } },
		});
		const { d: pongMsg, shardId: pongShard } = await pongSeen;
		if (pongMsg.id !== pong.id || pongShard !== 0) fail(`pong echoed as ${pongMsg.id} on shard ${pongShard}, created as ${pong.id} on a guild of shard 0`);
		if (!pongMsg.author?.bot) fail('the echo of the bot\'s own message is not marked as from a bot');
		const stored = await control('GET', `/rest/messages?channel_id=${pingMsg.channel_id}`);
		const contents = stored.map((m) => m.content);
		if (!contents.includes('!ping') || !contents.includes('pong')) fail(`the channel holds ${JSON.stringify(contents)}`);
		pingPong = true;
	}

	phase = 'op 7 reconnect and resume';
	const sLast = shards.get(shardCount - 1);
	const resumedBefore = sLast.resumed;
	const resumedAgain = deferred();
	const onResumed = (payload, shardId) => {
		if (payload.t === 'RESUMED' && shardId === shardCount - 1) resumedAgain.resolve();
	};
	manager.on(WebSocketShardEvents.Dispatch, onResumed);
	await control('POST', '/faults/reconnect', { shard: shardCount - 1 });
	await resumedAgain.promise;
	manager.off(WebSocketShardEvents.Dispatch, onResumed);
	if (sLast.resumed !== resumedBefore + 1) fail(`shard ${shardCount - 1}: ${sLast.resumed - resumedBefore} RESUMED after op 7, want 1`);

	if (invalidate) {
		phase = 'op 9 false and a new session';
		s0.newSessionAllowed = true;
		await control('POST', '/faults/invalidate', { shard: 0, resumable: false });
		const allIn = await s0.secondSession.promise;
		await allIn.promise;
		if (s0.sessions.length !== 2) fail(`shard 0 has sessions ${JSON.stringify(s0.sessions)}, want 2`);
	}

	// A short grace period in which a duplicate (second marker, second READY) would show up.
	phase = 'settle';
	await new Promise((r) => setTimeout(r, 300));

	const summary = {
		ok: true,
		compression,
		shards: shardCount,
		session_id_before_drop: sessionBefore,
		invalidated: invalidate,
		ping_pong: pingPong,
		zlib_boundary_checked: boundaryChecked,
		per_shard: [...shards.entries()].map(([id, s]) => ({
			shard: id,
			ready: s.ready,
			guild_creates: s.guildCreates.size,
			heartbeat_acks: s.acks,
			resumed: s.resumed,
			sessions: s.sessions,
			marker_seen: s.markerSeen,
		})),
	};
	phase = 'destroy';
	await manager.destroy();
	clearTimeout(overall);
	finished = true;
	process.stdout.write(`${JSON.stringify(summary)}\n`);
	process.exit(0);
}

function message(id, guildID) {
	return {
		id,
		channel_id: guildID,
		guild_id: guildID,
		content: 'interop marker',
		author: { id: '3', username: 'interop', discriminator: '0' },
		type: 0,
	};
}

function sameSet(a, b) {
	if (a.size !== b.size) return false;
	for (const x of a) if (!b.has(x)) return false;
	return true;
}

function sameURL(a, b) {
	const norm = (u) => u.replace(/\/+$/, '').replace(/\?.*$/, '');
	return norm(a) === norm(b);
}

main().catch((err) => fail(`${phase}: ${err?.stack ?? err}`));
