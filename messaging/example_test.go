package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// A bot posts a message and replies to it. The example runs against the REST simulator; a real
// bot leaves out WithBaseURL and WithHTTPClient.
func Example() {
	sim := restsim.New(restsim.Config{})
	ts := httptest.NewServer(sim)
	defer ts.Close()

	rest, err := messaging.New(restsim.DefaultToken, messaging.WithBaseURL(ts.URL+"/api/v10"), messaging.WithHTTPClient(ts.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	channel := sim.Seeded().ChannelIDs[0]

	ping, err := rest.CreateMessage(ctx, channel, messaging.MessageCreate{Content: "!ping"})
	if err != nil {
		fmt.Println(err)
		return
	}
	pong, err := rest.Reply(ctx, channel, ping.ID, "pong")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pong.Content, pong.MessageReference.MessageID == ping.ID)

	// Errors are values: a status sentinel, Discord's code, and the route template.
	_, err = rest.GetChannel(ctx, 1)
	var apiErr *messaging.APIError
	if errors.As(err, &apiErr) && errors.Is(err, messaging.ErrNotFound) {
		fmt.Println(apiErr.Code, apiErr.Message)
	}

	// Bad input never leaves the process.
	_, err = rest.CreateMessage(ctx, channel, messaging.MessageCreate{})
	fmt.Println(errors.Is(err, messaging.ErrInvalidInput))
	// Output:
	// pong true
	// 10003 Unknown Channel
	// true
}
