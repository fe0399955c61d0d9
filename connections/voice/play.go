package voice

import (
	"context"
	"io"
)

// playAhead is how many frames PlayOgg reads ahead of the send clock (1 s of audio).
const playAhead = 50

// PlayOgg plays an Ogg/Opus stream: an OggReader feeding Send. It returns when the stream has
// been sent (nil), with the stream's error (after sending what came before it), or with Send's
// error. r is read on a goroutine PlayOgg waits for, so a reader that blocks forever blocks
// PlayOgg too.
func (c *Conn) PlayOgg(ctx context.Context, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	frames := make(chan []byte, playAhead)
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(done)
		defer close(frames)
		or := NewOggReader(r)
		for {
			p, err := or.Next()
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				return
			}
			select {
			case frames <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	err := c.Send(ctx, frames)
	cancel()
	<-done
	if err == nil {
		err = readErr
	}
	return err
}
