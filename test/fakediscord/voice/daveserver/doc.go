// Package daveserver is Discord's server side of DAVE for one call, as the simulator's voice
// server needs it: the MLS external sender (op 25), key package validation (op 26), signed
// external Add and Remove proposals (op 27), the first-commit-wins rule (op 28, 29), welcome
// routing by KeyPackageRef (op 30), transitions (ops 21–24) and invalid commit recovery (op 31).
// It follows the DAVE whitepaper (v1.1.x) and RFC 9420 for ciphersuite 2.
//
// A [Server] is a pure state machine: it starts no goroutine, opens no socket and reads time only
// from its clock. The voice server calls one method per event (a client identified, left, sent a
// DAVE message, or time passed) and sends the returned [Out] messages, in order. A Server is not
// safe for concurrent use; the voice server serialises calls, as it does for the call's other
// state.
//
// # What the voice server must do around it
//
//   - Send op 11 (clients connect) for a user before that user's key package reaches
//     HandleBinary, and op 13 (client disconnect) before Leave's messages: clients accept an Add
//     only for a user they know is in the call.
//   - Send session description (op 4, with the DAVE version) before Join's op 25.
//   - Send the Outs of a Handle* call even when it returns an error.
//   - Call Tick after the clock moves, so that a transition nobody finished still executes.
//
// # Group life
//
// Until the first commit every DAVE member with a key package has its own pending group at epoch
// 0; each gets the Adds of all the others, and the first commit that reaches the server creates
// the group (epoch 1). From then on the group's members get the Adds of new key packages and the
// Removes of leavers; the first valid commit of an epoch is announced (op 29) to the members that
// held the epoch, and each joiner gets its part of the Welcome (op 30). When one member would be
// left, it is told to start over (sole member reset) and the next arrival creates a new group.
//
// Commits that races explain are dropped without an error (the gateway announces only the first
// valid commit of an epoch, and the sender learns nothing either way): one for an epoch that
// ended, one made before the sender had every proposal of the epoch (the whitepaper requires a
// commit to reference all of them; the sender commits again after the next op 27), one
// referencing a revoked proposal. Errors are kept for what no race explains.
//
// # Independence
//
// The package is written independently of connections/voice/mls on purpose: the simulator's
// encoder and the client's decoder (and the other way round) are two readings of RFC 9420 that
// check each other. It knows only the MLS structures the server touches (KeyPackage, LeafNode,
// PublicMessage, Commit, Welcome); it never holds a group secret and cannot decrypt anything, so
// it cannot check a commit's signature, confirmation tag or membership tag (clients do).
package daveserver
