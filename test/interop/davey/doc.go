// Package davey checks Cordage's voice stack against a voice client nobody in Cordage wrote:
// peer.mjs, a Node 20 program that speaks the voice websocket v8 and UDP itself and does DAVE
// with @snazzah/davey (OpenMLS, what discord.js uses), pinned in package-lock.json.
//
// The tests join peers and the Go voice client to calls on the simulator's voice server
// (test/fakediscord/voice) and compare what each side decrypted and the epoch authenticators
// they report. Install the npm packages once with `npm ci` in this directory; without node the
// tests skip, and without the packages they skip unless CI=true, where they fail.
package davey
