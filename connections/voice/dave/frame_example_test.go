package dave_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cordage/cordage/connections/voice/dave"
)

// A sender and a receiver derive the same sender key from the epoch's exporter secret; the
// receiver opens each frame once.
func Example() {
	exporterSecret := bytes.Repeat([]byte{3}, 32) // from the MLS epoch
	const sender = 104694319306248192
	base := dave.SenderBaseSecret(exporterSecret, sender)

	enc := dave.NewEncryptor(dave.NewKeyRatchet(base))
	dec := dave.NewDecryptor()
	now := time.Now()
	dec.AddRatchet(dave.NewKeyRatchet(base), now)

	frame, _ := enc.Encrypt(nil, []byte("opus frame"))
	fmt.Printf("%d bytes, ends % X\n", len(frame), frame[len(frame)-2:])

	opus, err := dec.Decrypt(nil, frame, now)
	fmt.Println(string(opus), err)
	_, err = dec.Decrypt(nil, frame, now)
	fmt.Println(err)
	// Output:
	// 22 bytes, ends FA FA
	// opus frame <nil>
	// dave: replayed frame (generation 0, nonce 1)
}
