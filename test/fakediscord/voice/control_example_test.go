package voicesim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	voicesim "github.com/cordage/cordage/test/fakediscord/voice"
)

// The voice control API over HTTP, mounted under its usual prefix as the standalone program
// does. A fault aimed at a user with no voice session answers 409.
func ExampleServer_ControlHandler() {
	vs, err := voicesim.New()
	if err != nil {
		panic(err)
	}
	defer vs.Close()
	mux := http.NewServeMux()
	mux.Handle(voicesim.ControlPrefix, http.StripPrefix(strings.TrimSuffix(voicesim.ControlPrefix, "/"), vs.ControlHandler()))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	res, err := hc.Post(hs.URL+"/_fake/voice/faults/close", "application/json", strings.NewReader(`{"user_id":"42","code":4015}`))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Print(res.StatusCode, " ", string(body))

	res, err = hc.Get(hs.URL + "/_fake/voice/ledger")
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, strings.Contains(string(body), `"sessions":[]`))
	// Output:
	// 409 {"error":"voicesim: the user has no live voice session"}
	// 200 true
}
