// Package davey checks Cordage's voice stack against a voice client nobody in Cordage wrote:
// peer.mjs, a Node 20 program that speaks the voice websocket v8 and UDP itself and does DAVE
// with @snazzah/davey (OpenMLS, what discord.js uses), pinned in package-lock.json.
//
// The tests join peers and the Go voice client to calls on the simulator's voice server
// (test/fakediscord/voice) and compare what each side decrypted and the epoch authenticators
// they report:
//
//   - TestPeersTransportOnly, TestPeersDAVE: davey peers only, so the simulator's relay and
//     external sender meet OpenMLS without Cordage's client in the way;
//   - TestGoClientAndPeer, TestGoClientAndPeerResume, TestGoClientAndPeerRecovery,
//     TestGoClientAndPeerCommitRace, TestGoClientAndPeerAudioAcrossChanges,
//     TestGoClientLeavesAndRejoins, TestGoClientAndPeerXChaCha: Cordage's runtime (joined through the gateway simulator's
//     op 4) and davey peers in one call, across adds, removes, commits won by either side,
//     resumes with replay, an invalid commit, a downgrade and upgrade, sole-member resets on
//     both sides, a leave and rejoin, membership changes while audio streams, and both
//     transport modes.
//
// Install the npm packages once with `npm ci` in this directory. Without node the tests skip;
// without the packages they skip too, unless CI=true, where they fail. With DAVEY_CAPTURE_DIR
// set, every peer writes the binary messages, RTP packets and DAVE frames it saw under that
// directory (seed material for the fuzzers).
package davey
