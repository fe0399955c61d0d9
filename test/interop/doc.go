// Package interop checks that a Discord gateway client nobody in Cordage wrote works against
// the standalone simulator (test/fakediscord/cmd/fakediscord): @discordjs/ws, the gateway layer
// of discord.js, pinned in package-lock.json and driven by discordjs.mjs.
//
// Install the npm packages once with test/interop/setup.sh (npm ci); without them, or without
// node and npm, the test skips, except under CI=true, where it fails.
package interop
