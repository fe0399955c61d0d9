package commands_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

// printAPI stands in for messaging.Client: it prints what would go to Discord and keeps the
// registered commands like Discord does.
type printAPI struct {
	stored map[events.Snowflake][]commands.Command
}

func (p *printAPI) ListCommands(_ context.Context, _, guildID events.Snowflake) ([]commands.Command, error) {
	fmt.Println("GET commands")
	return p.stored[guildID], nil
}

func (p *printAPI) BulkOverwriteCommands(_ context.Context, _, guildID events.Snowflake, cmds []commands.Command) ([]commands.Command, error) {
	b, _ := json.Marshal(cmds)
	fmt.Printf("PUT commands %s\n", b)
	if p.stored == nil {
		p.stored = map[events.Snowflake][]commands.Command{}
	}
	p.stored[guildID] = cmds
	return cmds, nil
}

func (p *printAPI) CreateInteractionResponse(_ context.Context, _ events.Snowflake, _ string, resp commands.Response) error {
	b, _ := json.Marshal(resp)
	fmt.Printf("POST callback %s\n", b)
	return nil
}

func (p *printAPI) EditOriginalResponse(_ context.Context, _ events.Snowflake, _ string, msg commands.Message) error {
	b, _ := json.Marshal(msg)
	fmt.Printf("PATCH @original %s\n", b)
	return nil
}

func (p *printAPI) CreateFollowup(_ context.Context, _ events.Snowflake, _ string, msg commands.Message) (events.Snowflake, error) {
	b, _ := json.Marshal(msg)
	fmt.Printf("POST followup %s\n", b)
	return 1, nil
}

// Greet is a command: its fields are its options.
type Greet struct {
	Who   events.User `desc:"Whom to greet"`
	Times int         `discord:"min=1,max=3,default=1" desc:"How many times"`
	Shout *bool       `desc:"Loudly?"`
}

func (Greet) Command() commands.Meta { return commands.Meta{Description: "Say hello to someone"} }

func Example() {
	ctx := context.Background()
	api := &printAPI{}
	reg := commands.New()
	err := commands.Register(reg, func(ctx context.Context, c *commands.Context, o Greet) error {
		msg := fmt.Sprintf("%s says hello to %s", c.User.Username, o.Who.Username)
		if o.Shout != nil && *o.Shout {
			msg += "!!!"
		}
		for range o.Times {
			if err := c.Reply(ctx, msg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// On READY: register the commands, only if Discord's differ.
	if _, err := reg.Sync(ctx, api, 100, 0); err != nil {
		fmt.Println(err)
		return
	}
	// On INTERACTION_CREATE: pass the dispatch data.
	err = reg.Handle(ctx, api, json.RawMessage(`{"id":"1","application_id":"100","type":2,"token":"t",
		"member":{"user":{"id":"7","username":"alice"},"roles":[],"joined_at":""},
		"data":{"name":"greet","type":1,
			"options":[{"name":"who","type":6,"value":"8"},{"name":"times","type":4,"value":2}],
			"resolved":{"users":{"8":{"id":"8","username":"bob"}}}}}`))
	fmt.Println("err:", err)
	// Output:
	// GET commands
	// PUT commands [{"type":1,"name":"greet","description":"Say hello to someone","options":[{"type":6,"name":"who","description":"Whom to greet","required":true},{"type":4,"name":"times","description":"How many times","min_value":1,"max_value":3},{"type":5,"name":"shout","description":"Loudly?"}]}]
	// POST callback {"type":4,"data":{"content":"alice says hello to bob"}}
	// POST followup {"content":"alice says hello to bob"}
	// err: <nil>
}

func ExampleRegistry_Group() {
	type Kick struct {
		_    struct{}    `desc:"Remove someone from the server"`
		User events.User `desc:"Whom"`
	}
	reg := commands.New()
	mod, err := reg.Group(commands.Meta{Name: "mod", Description: "Moderation", DefaultMemberPermissions: new(events.Permissions)})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := commands.Register(mod, func(ctx context.Context, c *commands.Context, o Kick) error {
		return c.Ephemeral(ctx, "kicked "+o.User.Username)
	}); err != nil {
		fmt.Println(err)
		return
	}
	cmds, err := reg.Commands()
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.MarshalIndent(cmds, "", " ")
	fmt.Println(string(b))
	// Output:
	// [
	//  {
	//   "type": 1,
	//   "name": "mod",
	//   "description": "Moderation",
	//   "options": [
	//    {
	//     "type": 1,
	//     "name": "kick",
	//     "description": "Remove someone from the server",
	//     "options": [
	//      {
	//       "type": 6,
	//       "name": "user",
	//       "description": "Whom",
	//       "required": true
	//      }
	//     ]
	//    }
	//   ],
	//   "default_member_permissions": "0"
	//  }
	// ]
}

func ExampleRegister_validation() {
	type Bad struct {
		_     struct{} `desc:"Has a problem"`
		Count int      `discord:"name=Count,min=1" desc:"How many"`
	}
	err := commands.Register(commands.New(), func(context.Context, *commands.Context, Bad) error { return nil })
	fmt.Println(err)
	// Output:
	// commands: commands_test.Bad.Count (/bad Count): name "Count" has upper-case 'C'; Discord requires the lower-case variant of every cased letter
}

func ExampleRegistry_Sync() {
	ctx := context.Background()
	api := &printAPI{}
	reg := commands.New()
	_ = commands.Register(reg, func(ctx context.Context, c *commands.Context, _ Ping) error { return c.Reply(ctx, "pong") })
	for range 2 { // e.g. two READYs after reconnects
		changed, err := reg.Sync(ctx, api, 100, 0)
		fmt.Println("overwrote:", changed, err)
	}
	// Output:
	// GET commands
	// PUT commands [{"type":1,"name":"ping","description":"Is the bot alive?"}]
	// overwrote: true <nil>
	// GET commands
	// overwrote: false <nil>
}
