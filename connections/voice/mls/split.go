package mls

import "fmt"

// ReadMLSMessage decodes the MLSMessage at the start of b and reports how many bytes it took.
// DAVE puts MLS messages back to back: op 27's proposal_messages body is a run of them, and
// op 28 is a commit followed by a bare Welcome. The rest of b is not looked at.
func ReadMLSMessage(b []byte) (msg *MLSMessage, n int, err error) {
	r := newReader(b, "MLSMessage")
	m := readMLSMessage(r)
	if r.err != nil {
		return nil, 0, r.err
	}
	return m, r.pos, nil
}

// SplitMLSMessages splits a run of back-to-back MLSMessages (DAVE op 27's proposal_messages
// body) into one slice per message. The slices alias b.
func SplitMLSMessages(b []byte) ([][]byte, error) {
	var out [][]byte
	for off := 0; off < len(b); {
		_, n, err := ReadMLSMessage(b[off:])
		if err != nil {
			if de, ok := err.(*DecodeError); ok {
				de.Offset += off
			}
			return nil, err
		}
		out = append(out, b[off:off+n:off+n])
		off += n
	}
	return out, nil
}

// ProposalRef returns the ProposalRef of an MLSMessage that carries a proposal as a
// PublicMessage: RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent). It lets a delivery
// service (DAVE's voice gateway, or a test standing in for it) match the references of a commit
// to the proposals it sent, without a group.
func ProposalRef(msg []byte) ([]byte, error) {
	m, err := DecodeMLSMessage(msg)
	if err != nil {
		return nil, err
	}
	if m.Public == nil || m.Public.Content.ContentType != ContentProposal {
		return nil, fmt.Errorf("mls: %w: not a public proposal message", ErrInvalidProposal)
	}
	return refHash("MLS 1.0 Proposal Reference", m.Public.authenticatedContent()), nil
}
