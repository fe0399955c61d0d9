// Package events is Cordage's vocabulary for the Discord gateway: the envelope every frame
// travels in, the opcodes, the close codes with the policy a client follows for each, the
// intents, and typed payloads for what a bot sends and reads.
//
// The package imports nothing else of Cordage, so the runtime (package connections), the REST
// client (package messaging) and the simulator (package fakediscord) all speak the same words.
//
// Unknown events and unknown fields are not errors: a dispatch keeps its data as raw JSON, and
// typed decoding ignores fields it does not know, so new Discord features pass through untouched.
package events
