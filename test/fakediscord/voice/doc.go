// Package voicesim is a fake Discord voice server for offline tests: the voice websocket
// (gateway v8) and the UDP media relay (an SFU), both on 127.0.0.1. It is written from Discord's
// documentation (see /work/shared/voice.md in the project notes), independently of Cordage's
// voice runtime, and imports nothing under connections/.
//
// # Joining
//
// A user joins through the main gateway simulator: with fakediscord.WithVoiceServer(srv), op 4
// yields VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE whose token comes from [Server.IssueToken]
// and whose endpoint is [Server.Endpoint] (host:port, no scheme). Tests that play other users
// call IssueToken themselves. The client dials ws://ENDPOINT/?v=8 ([Server.URL]).
//
// # Websocket
//
//   - Hello (op 8) with the heartbeat interval; heartbeats (op 3, v8 {t, seq_ack}) are answered
//     with op 6 {t}; a heartbeat later than interval + grace closes with 4009.
//   - Identify (op 0) checked against the issued token: unknown or revoked token, wrong user or
//     session id → 4004; wrong server_id → 4011; no max_dave_protocol_version while DAVE is
//     required → 4017; a second identify → 4005; anything but identify, resume or heartbeat first
//     → 4003; bad JSON → 4002; unknown or server-only opcode → 4001.
//   - Ready (op 2: ssrc, ip, port, modes), op 15 (undocumented), then clients-connect (op 11) with
//     the users already in the channel, ops 18 and 20 (undocumented) about each, and their
//     speaking state. The others get op 11 (and 18, 20) about the newcomer.
//   - Select Protocol (op 1): protocol other than udp → 4012; a mode not offered → 4016; then
//     Session Description (op 4) with a fresh random 32-byte key and the DAVE protocol version
//     (the lowest of the server's and the client's).
//   - Speaking (op 5) is relayed to the others with the user id; its ssrc must be the session's
//     (else 4020). The relay forwards a user's RTP only after a non-zero Speaking.
//   - Every session message carries "seq" (JSON) or a u16 seq prefix (binary); Hello, heartbeat
//     ACKs and Resumed carry none. The last WithReplayLimit messages are buffered.
//   - Resume (op 7: server_id, session_id, token, seq_ack) → Resumed (op 9), then every buffered
//     message after seq_ack. An unknown or ended session, or a seq_ack the buffer no longer
//     reaches, → 4006 and the session ends.
//   - A user leaving (op 13 to the others) when its session ends: a close code whose policy is
//     not resume, the resume window running out after a dropped connection, a new identify by
//     the same user, or [Server.Leave] (4014).
//
// # UDP
//
// IP discovery (74-byte request, answered with the sender's address and port as seen), then the
// relay: each RTP packet is opened with its sender's key and mode (rtpsize AEAD), and sealed
// again for every other member of the call with the receiver's key, mode and nonce counter. The
// header (sequence, timestamp, SSRC = the sender's assigned SSRC, CSRCs, extension preamble) and
// the plaintext (extension body and Opus payload) are passed through unchanged; a DAVE protocol
// frame (ending in 0xFAFA) goes only to members of the DAVE group. RTCP, unknown SSRCs and
// packets that fail to open are counted and dropped.
//
// # DAVE
//
// Each call has a DAVE server (package daveserver): after a member's first Session Description
// it sends the external sender (op 25); key packages (op 26) become signed external proposals
// (op 27); the first valid commit of an epoch (op 28) is announced (op 29) and its welcome routed
// (op 30); ready-for-transition (op 23) or the execute timeout gives execute (op 22); op 31
// re-adds a member. A DAVE message the DAVE server refuses is recorded in the ledger and
// ignored. [Server.SetDAVEProtocolVersion] downgrades or upgrades a call, [Server.SetDAVEFaults]
// turns on the DAVE server's faults.
//
// # Faults and ledger
//
// [Server.Faults] drops, duplicates and reorders websocket messages, closes with any code, cuts
// connections, loses or reorders UDP packets (seeded), sends any op, fills a channel and makes
// joins meet a null endpoint first. [Server.Ledger] lists every session with what it was sent,
// its resumes and connections, every relayed packet and the calls with their DAVE state;
// [Server.WaitFor] blocks on a condition over it, without sleeping. Every timer runs on the
// clock of WithClock.
package voicesim
