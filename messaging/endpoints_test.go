package messaging_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

func TestMessages(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[0]

	m, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{
		Content: "hello", Nonce: "n-1",
		Embeds:          []events.Embed{{Title: "t", Description: "d", Fields: []events.EmbedField{{Name: "a", Value: "b"}}}},
		AllowedMentions: &messaging.AllowedMentions{},
		Components:      json.RawMessage(`[{"type":1,"components":[{"type":2,"style":1,"label":"ok","custom_id":"ok"}]}]`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == 0 || m.ChannelID != ch || m.Content != "hello" || len(m.Embeds) != 1 || m.Embeds[0].Title != "t" || !m.Author.Bot {
		t.Fatalf("created message = %+v", m)
	}
	if len(m.Components) == 0 {
		t.Fatalf("components not echoed")
	}
	var sent map[string]any
	if err := json.Unmarshal(e.ledgerFor("POST", "/channels/{channel.id}/messages")[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if am, _ := sent["allowed_mentions"].(map[string]any); am == nil || am["parse"] == nil {
		t.Fatalf("allowed_mentions.parse must be sent as an array: %v", sent["allowed_mentions"])
	}

	reply, err := e.client.Reply(ctx, ch, m.ID, "a reply")
	if err != nil {
		t.Fatal(err)
	}
	if reply.MessageReference == nil || reply.MessageReference.MessageID != m.ID || reply.Type != events.MessageReply {
		t.Fatalf("reply = %+v", reply)
	}
	if reply.ReferencedMessage == nil || reply.ReferencedMessage.Content != "hello" {
		t.Fatalf("referenced message missing: %+v", reply.ReferencedMessage)
	}

	got, err := e.client.GetMessage(ctx, ch, m.ID)
	if err != nil || got.Content != "hello" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	newText := "edited"
	ed, err := e.client.EditMessage(ctx, ch, m.ID, messaging.MessageEdit{Content: &newText})
	if err != nil || ed.Content != "edited" || ed.EditedTimestamp == nil {
		t.Fatalf("edit = %+v, %v", ed, err)
	}
	if err := e.client.DeleteMessage(ctx, ch, m.ID, messaging.WithReason("spam, really")); err != nil {
		t.Fatal(err)
	}
	del := e.ledgerFor("DELETE", "/channels/{channel.id}/messages/{message.id}")
	if len(del) != 1 || del[0].AuditReason != url.PathEscape("spam, really") {
		t.Fatalf("delete ledger = %+v", del)
	}
	if _, err := e.client.GetMessage(ctx, ch, m.ID); !errors.Is(err, messaging.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if len(e.sim.Messages(ch)) != 1 {
		t.Fatalf("channel holds %d messages, want 1", len(e.sim.Messages(ch)))
	}
}

func TestUpload(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[1]
	m, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{
		Content: "files",
		Files: []messaging.File{
			{Name: "a.txt", ContentType: "text/plain", Data: []byte("alpha")},
			{Name: "b.png", ContentType: "image/png", Data: make([]byte, 1000), Description: "empty"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 2 || m.Attachments[0].Filename != "a.txt" || m.Attachments[0].Size != 5 || m.Attachments[1].Size != 1000 {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	l := e.ledgerFor("POST", "/channels/{channel.id}/messages")
	if len(l) != 1 || len(l[0].ContentType) < 19 || l[0].ContentType[:19] != "multipart/form-data" {
		t.Fatalf("upload content type = %q", l[0].ContentType)
	}
	// Editing can add files too.
	ed, err := e.client.EditMessage(ctx, ch, m.ID, messaging.MessageEdit{Files: []messaging.File{{Name: "c.txt", Data: []byte("c")}}})
	if err != nil || len(ed.Attachments) != 1 || ed.Attachments[0].Filename != "c.txt" {
		t.Fatalf("edit upload = %+v, %v", ed, err)
	}
}

func TestChannelsUsersGuilds(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	ch, err := e.client.GetChannel(ctx, e.seed.ChannelIDs[0])
	if err != nil || ch.Name != "general" || ch.GuildID != e.seed.GuildID || ch.Type != events.ChannelGuildText {
		t.Fatalf("channel = %+v, %v", ch, err)
	}
	if err := e.client.TriggerTyping(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	me, err := e.client.GetCurrentUser(ctx)
	if err != nil || me.ID != restsim.DefaultApplicationID || !me.Bot {
		t.Fatalf("@me = %+v, %v", me, err)
	}
	u, err := e.client.GetUser(ctx, e.seed.UserIDs[0])
	if err != nil || u.Username != "user0" {
		t.Fatalf("user = %+v, %v", u, err)
	}
	dm, err := e.client.CreateDM(ctx, u.ID)
	if err != nil || dm.Type != events.ChannelDM || len(dm.Recipients) != 1 || dm.Recipients[0].ID != u.ID {
		t.Fatalf("dm = %+v, %v", dm, err)
	}
	dm2, err := e.client.CreateDM(ctx, u.ID)
	if err != nil || dm2.ID != dm.ID {
		t.Fatalf("second CreateDM = %+v, %v; want the same channel", dm2, err)
	}
	if _, err := e.client.CreateMessage(ctx, dm.ID, messaging.MessageCreate{Content: "psst"}); err != nil {
		t.Fatal(err)
	}
	g, err := e.client.GetGuild(ctx, e.seed.GuildID)
	if err != nil || g.Name != "Cordage Sim" || len(g.Roles) != 3 {
		t.Fatalf("guild = %+v, %v", g, err)
	}
	mem, err := e.client.GetMember(ctx, g.ID, u.ID)
	if err != nil || mem.User == nil || mem.User.ID != u.ID {
		t.Fatalf("member = %+v, %v", mem, err)
	}
	role := e.seed.RoleIDs[1]
	if err := e.client.AddMemberRole(ctx, g.ID, u.ID, role, messaging.WithReason("promoted")); err != nil {
		t.Fatal(err)
	}
	if r := e.sim.MemberRoles(g.ID, u.ID); len(r) != 1 || r[0] != role {
		t.Fatalf("roles after add = %v", r)
	}
	if err := e.client.RemoveMemberRole(ctx, g.ID, u.ID, role); err != nil {
		t.Fatal(err)
	}
	if r := e.sim.MemberRoles(g.ID, u.ID); len(r) != 0 {
		t.Fatalf("roles after remove = %v", r)
	}
	if l := e.ledgerFor("PUT", "/guilds/{guild.id}/members/{user.id}/roles/{role.id}"); l[0].AuditReason != "promoted" {
		t.Fatalf("audit reason = %q", l[0].AuditReason)
	}
	gb, err := e.client.GatewayBot(ctx)
	if err != nil || gb.URL == "" || gb.Shards != 1 || gb.SessionStartLimit.MaxConcurrency != 1 {
		t.Fatalf("gateway/bot = %+v, %v", gb, err)
	}
}

func TestReactions(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[0]
	m, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "react"})
	if err != nil {
		t.Fatal(err)
	}
	for _, emoji := range []string{"👍", "<:party:123456789012345678>", "wave:223456789012345678"} {
		if err := e.client.AddReaction(ctx, ch, m.ID, emoji); err != nil {
			t.Fatalf("add %s: %v", emoji, err)
		}
	}
	got, _ := e.client.GetMessage(ctx, ch, m.ID)
	if len(got.Reactions) != 3 || !got.Reactions[0].Me {
		t.Fatalf("reactions = %+v", got.Reactions)
	}
	if err := e.client.RemoveOwnReaction(ctx, ch, m.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	if err := e.client.RemoveUserReaction(ctx, ch, m.ID, "party:123456789012345678", e.seed.UserIDs[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.client.RemoveEmojiReactions(ctx, ch, m.ID, "party:123456789012345678"); err != nil {
		t.Fatal(err)
	}
	got, _ = e.client.GetMessage(ctx, ch, m.ID)
	if len(got.Reactions) != 1 {
		t.Fatalf("reactions after removals = %+v", got.Reactions)
	}
	if err := e.client.RemoveAllReactions(ctx, ch, m.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = e.client.GetMessage(ctx, ch, m.ID)
	if len(got.Reactions) != 0 {
		t.Fatalf("reactions after remove all = %+v", got.Reactions)
	}
	for _, bad := range []string{"", "name:", "x:0", "x:notanumber", "<:x:>"} {
		if err := e.client.AddReaction(ctx, ch, m.ID, bad); !errors.Is(err, messaging.ErrInvalidInput) {
			t.Errorf("AddReaction(%q) = %v, want ErrInvalidInput", bad, err)
		}
	}
	// The escaped emoji reaches the server intact.
	if l := e.ledgerFor("PUT", "/channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me"); len(l) != 3 || l[0].Path != "/channels/"+ch.String()+"/messages/"+m.ID.String()+"/reactions/"+url.PathEscape("👍")+"/@me" {
		t.Fatalf("reaction ledger = %+v", l)
	}
}

func TestApplicationCommands(t *testing.T) {
	e := newEnv(t, 100, restsim.Config{})
	ctx := testCtx(t)
	app := restsim.DefaultApplicationID
	var api commands.API = e.client

	list, err := api.ListCommands(ctx, app, 0)
	if err != nil || len(list) != 0 {
		t.Fatalf("initial list = %v, %v", list, err)
	}
	cmds := []commands.Command{
		{Name: "ping", Description: "Replies with pong"},
		{Name: "echo", Description: "Echoes", Options: []commands.Option{{Type: 3, Name: "text", Description: "what", Required: true}}},
	}
	out, err := api.BulkOverwriteCommands(ctx, app, 0, cmds)
	if err != nil || len(out) != 2 || out[0].ID == 0 || out[1].Options[0].Name != "text" {
		t.Fatalf("overwrite = %+v, %v", out, err)
	}
	list, err = api.ListCommands(ctx, app, 0)
	if err != nil || len(list) != 2 || list[0].ID != out[0].ID {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if l := e.ledgerFor("GET", "/applications/{application.id}/commands"); len(l) != 2 {
		t.Fatalf("list ledger = %+v", l)
	}
	g := e.seed.GuildID
	gout, err := api.BulkOverwriteCommands(ctx, app, g, cmds[:1])
	if err != nil || len(gout) != 1 || gout[0].GuildID != g {
		t.Fatalf("guild overwrite = %+v, %v", gout, err)
	}
	if n := len(e.sim.Commands(g)); n != 1 {
		t.Fatalf("guild commands = %d", n)
	}
	// An empty overwrite clears the scope (sent as [] rather than null).
	if out, err := api.BulkOverwriteCommands(ctx, app, g, nil); err != nil || len(out) != 0 {
		t.Fatalf("clear = %v, %v", out, err)
	}
	// Discord's form errors come back flattened.
	_, err = api.BulkOverwriteCommands(ctx, app, 0, []commands.Command{{Name: "Bad Name", Description: "x"}})
	var ae *messaging.APIError
	if !errors.As(err, &ae) || ae.Code != 50035 || len(ae.Errors) != 1 || ae.Errors[0].Path != "0.name" {
		t.Fatalf("bad command: %v", err)
	}
	if _, err := api.ListCommands(ctx, 0, 0); !errors.Is(err, messaging.ErrInvalidInput) {
		t.Fatalf("zero app id: %v", err)
	}
}

func TestInteractions(t *testing.T) {
	// Real time: the simulator enforces Discord's 3-second deadline for the first callback.
	e := newEnv(t, 1, restsim.Config{Routes: map[string]restsim.Limit{
		"POST /interactions/{interaction.id}/{interaction.token}/callback": {Bucket: "cb", Requests: 1, Window: 100 * time.Millisecond},
	}})
	ctx := testCtx(t)
	app := restsim.DefaultApplicationID

	// A full reply, then follow-ups, edits and deletions.
	it := e.sim.NewInteraction(e.seed.ChannelIDs[0])
	err := e.client.RespondInteraction(ctx, it.ID, it.Token, messaging.InteractionResponse{
		Type: messaging.ResponseChannelMessage,
		Data: &messaging.InteractionResponseData{Content: "pong", Flags: events.MessageFlagEphemeral},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := e.sim.InteractionState(it.ID); st.ResponseType != 4 || st.Original == nil {
		t.Fatalf("state = %+v", st)
	}
	orig, err := e.client.GetOriginalResponse(ctx, app, it.Token)
	if err != nil || orig.Content != "pong" {
		t.Fatalf("original = %+v, %v", orig, err)
	}
	txt := "pong!"
	if ed, err := e.client.EditOriginal(ctx, app, it.Token, messaging.WebhookEdit{Content: &txt}); err != nil || ed.Content != "pong!" {
		t.Fatalf("edit original = %+v, %v", ed, err)
	}
	f, err := e.client.SendFollowup(ctx, app, it.Token, messaging.WebhookMessage{Content: "more"})
	if err != nil || f.Content != "more" {
		t.Fatalf("followup = %+v, %v", f, err)
	}
	if g, err := e.client.GetFollowup(ctx, app, it.Token, f.ID); err != nil || g.ID != f.ID {
		t.Fatalf("get followup = %+v, %v", g, err)
	}
	txt2 := "more!"
	if ed, err := e.client.EditFollowup(ctx, app, it.Token, f.ID, messaging.WebhookEdit{Content: &txt2}); err != nil || ed.Content != "more!" {
		t.Fatalf("edit followup = %+v, %v", ed, err)
	}
	if err := e.client.DeleteFollowup(ctx, app, it.Token, f.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteOriginalResponse(ctx, app, it.Token); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.InteractionState(it.ID); st.Original != nil || st.Followups != 0 {
		t.Fatalf("state after deletes = %+v", st)
	}
	// A second callback is refused by Discord with 40060.
	err = e.client.RespondInteraction(ctx, it.ID, it.Token, messaging.InteractionResponse{Type: messaging.ResponseDeferredChannelMessage})
	var ae *messaging.APIError
	if !errors.As(err, &ae) || ae.Code != 40060 || !errors.Is(err, messaging.ErrBadRequest) {
		t.Fatalf("second callback: %v", err)
	}

	// Deferred, then the edit that ends "thinking".
	it2 := e.sim.NewInteraction(e.seed.ChannelIDs[0])
	if err := e.client.DeferInteraction(ctx, it2.ID, it2.Token, true); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.InteractionState(it2.ID); st.ResponseType != 5 {
		t.Fatalf("deferred state = %+v", st)
	}
	done := "done"
	ed, err := e.client.EditOriginal(ctx, app, it2.Token, messaging.WebhookEdit{Content: &done})
	if err != nil || ed.Content != "done" || ed.Flags&events.MessageFlagLoading != 0 {
		t.Fatalf("edit deferred = %+v, %v", ed, err)
	}

	// The events/commands responder methods.
	it3 := e.sim.NewInteraction(e.seed.ChannelIDs[1])
	var r commands.Responder = e.client
	if err := r.CreateInteractionResponse(ctx, it3.ID, it3.Token, commands.Response{Type: commands.ResponseDeferredChannelMessage}); err != nil {
		t.Fatal(err)
	}
	if err := r.EditOriginalResponse(ctx, app, it3.Token, commands.Message{Content: "edited via commands"}); err != nil {
		t.Fatal(err)
	}
	id, err := r.CreateFollowup(ctx, app, it3.Token, commands.Message{Content: "followup via commands"})
	if err != nil || id == 0 {
		t.Fatalf("CreateFollowup = %v, %v", id, err)
	}
	if st := e.sim.InteractionState(it3.ID); st.Followups != 1 {
		t.Fatalf("state = %+v", st)
	}

	// Interaction routes carry no bot token and are outside the global limit.
	for _, en := range e.sim.Ledger() {
		if en.Major != "" && (en.Route[:9] == "/webhooks" || en.Route[:13] == "/interactions") && en.Status >= 500 {
			t.Fatalf("server error on %s", en.Route)
		}
	}

	// Modal validation happens before sending.
	err = e.client.RespondInteraction(ctx, it3.ID, it3.Token, messaging.InteractionResponse{Type: messaging.ResponseModal, Data: &messaging.InteractionResponseData{CustomID: "m"}})
	if !errors.Is(err, messaging.ErrInvalidInput) {
		t.Fatalf("modal without title: %v", err)
	}
}
