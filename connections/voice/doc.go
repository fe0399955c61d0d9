// Package voice is Cordage's voice runtime: it joins a voice channel through the gateway runtime
// (package connections), speaks the voice websocket (v8) and RTP over UDP, sends pre-encoded Opus
// on a 20 ms clock and delivers received Opus per user, with DAVE end-to-end encryption from
// package dave when the server negotiates it.
//
// # Joining
//
// A Manager owns the bot's voice connections. The gateway runtime delivers VOICE_STATE_UPDATE
// and VOICE_SERVER_UPDATE on the bot's own out channel, so the bot passes every event to
// Manager.Handle from its select loop; Handle never blocks and reports whether the event was
// voice plumbing. Manager.Join sends op 4 and waits for both dispatches (ErrJoinTimeout when
// Discord answers nothing, as it does for a full channel), then connects. Join blocks, so call it
// from another goroutine than the one feeding Handle.
//
// # Goroutines
//
// Per Conn: a supervisor that runs one websocket session after another (heartbeats, reconnects,
// DAVE messages), a reader per websocket, a UDP reader and a UDP keepalive per session, and the
// caller's goroutine inside Send. Close (or the Manager's context) stops them all, waits, and
// leaves the channel (op 4 with no channel, once, within 2 s of clock time). Neither the UDP reader
// nor the websocket reader ever waits for the bot: Packets and Events are buffered and drop
// (counted in Stats) when full.
//
// # Sending
//
// Conn.Send takes pre-encoded Opus, 48 kHz stereo, one 20 ms frame per channel value; PlayOgg
// and OggReader read such frames from an Ogg/Opus stream. The send clock paces on absolute
// deadlines (start + n·20 ms on the injected clock), announces speaking (op 5) one frame period
// before the first packet, and ends every stretch of audio with five plain silence frames.
// With DAVE in effect every frame but silence is end-to-end encrypted; while no sender key exists yet
// (the moments of a DAVE transition) frames are dropped, never sent in the clear.
//
// # Receiving
//
// The UDP reader opens each packet (aead_aes256_gcm_rtpsize when the server offers it, else
// aead_xchacha20_poly1305_rtpsize), skips RTCP, maps the SSRC to a user from op 5 and removes
// DAVE. Packets from an SSRC no op 5 has named yet are held (up to 64, for 1 s) and released in
// order when it arrives, because audio and op 5 travel on different sockets.
//
// # Reconnecting
//
// After a session ends the supervisor applies the close-code policy of events/voice: codes
// below 4000, a dropped connection and 4015 resume (op 7 with the last seq; the server replays
// what was missed); 4006 and 4004 ask the gateway for fresh credentials (op 4) and identify;
// other new-session codes identify again; 4014 waits ServerUpdateWait for a new
// VOICE_SERVER_UPDATE (a move) and otherwise ends with ErrDisconnected; 4011, 4012, 4016, 4017,
// 4021 and 4022 end the Conn with a *voice.CloseError. Every retry waits a jittered, capped
// backoff; a code whose row in events/voice.CloseCodes caps its retries (one for 4001, 4002 and
// 4020, which point at our own bug; three for 4004) stops at that cap, and MaxRetries consecutive failures end
// the Conn with a *RetryError. A VOICE_SERVER_UPDATE with a new token or endpoint (a move) starts
// a fresh session at once; a null endpoint waits for the next one.
//
// # Errors and secrets
//
// Close codes are *voice.CloseError (errors.As; errors.Is with voice.ErrDAVERequired,
// voice.ErrClosedFatal), malformed server input is *voice.MalformedError with the decoder and
// offset. Voice tokens and transport keys are typed (voice.Token, voice.SecretKey) so that they
// print as [redacted] in logs and errors.
package voice
