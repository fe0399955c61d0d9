package connections

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/cordage/cordage/events"
)

// GetWebsocketGateway asks Discord (GET /gateway/bot) for the gateway URL, the recommended shard
// count and the session-start budget. Only WithAPIURL, WithHTTPClient and WithLogger matter
// here. ctx bounds the request.
func GetWebsocketGateway(ctx context.Context, token string, opts ...Option) (events.GatewayBot, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return events.GatewayBot{}, err
	}
	if token == "" {
		return events.GatewayBot{}, optionError("token", "empty")
	}
	return getGatewayBot(ctx, cfg, &secret{value: token})
}

func getGatewayBot(ctx context.Context, cfg *config, tok *secret) (events.GatewayBot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.apiURL+"/gateway/bot", nil)
	if err != nil {
		return events.GatewayBot{}, fmt.Errorf("connections: GET /gateway/bot: %w", err)
	}
	req.Header.Set("Authorization", "Bot "+tok.value)
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "application/json")
	resp, err := cfg.httpClient.Do(req)
	if err != nil {
		// A *url.Error names the URL, never the headers, so the token cannot leak here.
		return events.GatewayBot{}, fmt.Errorf("connections: GET /gateway/bot: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return events.GatewayBot{}, fmt.Errorf("connections: GET /gateway/bot: read body: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var apiErr struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &apiErr)
		return events.GatewayBot{}, &HTTPError{Status: resp.StatusCode, Message: apiErr.Message}
	}
	var gw events.GatewayBot
	if err := json.Unmarshal(body, &gw); err != nil {
		return events.GatewayBot{}, fmt.Errorf("connections: GET /gateway/bot: decode: %w", err)
	}
	if gw.URL == "" || gw.Shards < 1 {
		return events.GatewayBot{}, fmt.Errorf("connections: GET /gateway/bot: incomplete answer (url %q, shards %d)", gw.URL, gw.Shards)
	}
	return gw, nil
}

// gatewayQuery returns base with v=10, encoding=json and the compression parameter set, keeping
// anything else the URL carries.
func gatewayQuery(base string, comp Compression) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("connections: gateway URL: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return "", fmt.Errorf("connections: gateway URL %q: scheme must be ws or wss", u.Redacted())
	}
	q := u.Query()
	q.Set("v", "10")
	q.Set("encoding", "json")
	q.Del("compress")
	if comp != None {
		q.Set("compress", comp.String())
	}
	u.RawQuery = q.Encode()
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}
