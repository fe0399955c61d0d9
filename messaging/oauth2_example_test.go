package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// An application trades the code a user's consent produced for an access token. The
// simulator plays the user (IssueOAuth2Code); a real program gets the code from the OAuth2
// redirect or from the desktop app's AUTHORIZE, and leaves out WithBaseURL and WithHTTPClient.
func ExampleClient_ExchangeCode() {
	sim := restsim.New(restsim.Config{})
	ts := httptest.NewServer(sim)
	defer ts.Close()
	rest, err := messaging.New(restsim.DefaultToken, messaging.WithBaseURL(ts.URL+"/api/v10"), messaging.WithHTTPClient(ts.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rest.CloseIdleConnections()
	const clientSecret, redirect = "the-app-secret", "https://app.example/callback"
	appID := restsim.DefaultApplicationID.String()
	code := sim.IssueOAuth2Code(restsim.OAuth2Grant{ClientSecret: clientSecret, RedirectURI: redirect, Scopes: []string{"identify"}})

	tok, err := rest.ExchangeCode(context.Background(), appID, clientSecret, code, redirect)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok) // the secrets stay hidden
	fmt.Println("lifetime:", tok.Lifetime())

	// A code works once.
	_, err = rest.ExchangeCode(context.Background(), appID, clientSecret, code, redirect)
	var oe *messaging.OAuth2Error
	fmt.Println(errors.As(err, &oe), oe.Code, errors.Is(err, messaging.ErrBadRequest))
	// Output:
	// {TokenType:Bearer Scope:identify ExpiresIn:604800 AccessToken:[redacted] RefreshToken:[redacted]}
	// lifetime: 168h0m0s
	// true invalid_grant true
}
