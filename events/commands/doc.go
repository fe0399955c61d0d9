// Package commands declares Discord slash commands from plain Go types, keeps Discord's
// registration in step with them, and answers the interactions they produce.
//
// A command is a struct; its exported fields are the options:
//
//	type Roll struct {
//		Sides int     `discord:"min=2,max=120,default=6" desc:"Sides of the die"`
//		Times *int    `discord:"min=1,max=10" desc:"How many dice"`
//		Label string  `discord:"optional,maxlen=40" desc:"What the roll is for"`
//	}
//
//	func (Roll) Command() commands.Meta { return commands.Meta{Description: "Roll dice"} }
//
//	reg := commands.New(commands.WithLogger(log))
//	err := commands.Register(reg, func(ctx context.Context, c *commands.Context, o Roll) error {
//		return c.Reply(ctx, fmt.Sprintf("%s rolled %d", c.User.Username, 1+rand.IntN(o.Sides)))
//	})
//
// Then, on READY, reg.Sync(ctx, api, appID, 0) (or a guild id), and for every
// INTERACTION_CREATE, reg.Handle(ctx, api, envelope.D).
//
// # Option types
//
//	string                      STRING
//	bool                        BOOLEAN
//	int, int8…int64, uint…      INTEGER (narrow types get an implicit min/max)
//	float32, float64            NUMBER
//	events.User                 USER
//	events.Member               USER, decoded with the member data Discord resolves (User set)
//	commands.Channel            CHANNEL
//	commands.Role               ROLE
//	commands.Mentionable        MENTIONABLE (a user or a role)
//	commands.Attachment         ATTACHMENT
//
// A field is required unless it is a pointer (nil when not given), has a default (used when
// not given), or is tagged optional (zero when not given). Discord wants required options
// before optional ones; this package puts them first itself, keeping field order within each
// kind, rather than making you order fields (decoding goes by name, so order does not matter
// to your code). Embedded structs contribute their fields, so option sets can be shared.
// A field tagged discord:"-" is not an option.
//
// # Tags
//
// The desc tag holds the description (it may contain commas). The discord tag holds
// comma-separated keys:
//
//	name=count           option name (default: the field name in snake_case)
//	desc=How many        description (without commas; or use the desc tag)
//	optional             optional without a pointer; a missing value is the zero value
//	default=3            optional; a missing value is 3
//	min=1,max=10         min_value/max_value for integers and numbers
//	minlen=1,maxlen=20   min_length/max_length for strings
//	choices=a|b|c        fixed choices; name:value pairs too: choices=Red:red|Blue:blue
//	choicesfile=path     choices read from a file (see below)
//	autocomplete         suggestions come from the type's Autocomplete method
//	channel_types=0|5    channel types allowed (numbers, or names: text, voice, forum…)
//	file_types=image|.pdf attachment types allowed
//
// Command-level metadata (name, description, default_member_permissions, contexts,
// integration_types, nsfw, localizations) comes from an optional Command() Meta method. Types
// declared inside a function cannot have methods; they can carry name and description on a
// blank field instead:
//
//	type Poke struct {
//		_   struct{}    `discord:"name=poke" desc:"Poke someone"`
//		Who events.User `desc:"Whom"`
//	}
//
// Option and choice translations come from an optional Localizations method (Localizer).
//
// # Subcommands and groups
//
//	admin, _ := reg.Group(commands.Meta{Name: "admin", Description: "Server tools"})
//	commands.Register(admin, banHandler)              // /admin ban
//	roles, _ := admin.Group(commands.Meta{Name: "roles", Description: "Role tools"})
//	commands.Register(roles, addRoleHandler)          // /admin roles add
//
// # Validation
//
// Register checks a type against Discord's rules at once; Commands and Sync check the whole
// set again (the 8000-character budget per command, 25 options or subcommands per level, 100
// commands) before anything is sent. Every problem is a *ValidationError naming the Go type
// and field, and wrapping ErrInvalidCommand.
//
// # Choices from a file
//
// choicesfile=colors.txt reads the choices when the type is registered: a JSON array of
// values or of {"name","value"} objects, or plain text with one value per line. Run
// reg.WatchChoiceFiles(ctx, api, appID) in a goroutine of yours: it polls the files on the
// registry's clock (WithPollInterval, default 5 s) and calls Sync when one changed. A change
// that breaks a rule (26 choices, say) is refused and logged; the old choices stay. Replace a
// file atomically (write a temporary file, then rename it over the old one): a poll that
// catches a file half-written would otherwise sync its truncated choices.
//
// With autocomplete as well (choicesfile=cities.txt,autocomplete) the file is not sent to
// Discord at all: it feeds suggestions, filtered by what the user types (case-insensitive
// substring of name or value, at most 25), so it may hold any number of entries, and edits
// take effect at the next poll without a Sync. A type's own Autocomplete method, if it has
// one, is used instead.
//
// # Answering
//
// Handlers get a *Context with the sender (User, Member), the channel, the guild, the locale
// and the raw interaction, and answer through it: Reply, Ephemeral, Send, ReplyError, Defer,
// EditOriginal, Followup. Reply does what fits: the first answer is the interaction response,
// after a defer it edits the "thinking…" message, later ones are followups. A handler still
// running after 2 s (WithDeferAfter) is deferred automatically, so Discord's 3-second deadline
// is never missed. Errors, panics and bad option values are answered too; see
// Registry.Handle.
//
// # REST
//
// The package does not import the REST client. It declares what it needs: Syncer (list and
// bulk-overwrite commands) and Responder (interaction callback, edit original, followup),
// together API. messaging.Client satisfies API; any other client can, with methods that map
// one-to-one onto these routes:
//
//	ListCommands           GET  /applications/{app}/commands?with_localizations=true
//	                       GET  /applications/{app}/guilds/{guild}/commands?with_localizations=true
//	BulkOverwriteCommands  PUT  the same path, body []Command, returns []Command
//	CreateInteractionResponse POST /interactions/{id}/{token}/callback, body Response
//	EditOriginalResponse   PATCH /webhooks/{app}/{token}/messages/@original, body Message
//	CreateFollowup         POST /webhooks/{app}/{token}?wait=true, body Message, returns the id
//
// guildID 0 selects the global routes. Command, Option, Choice, Response and Message marshal
// to exactly the JSON Discord expects, so a client only sends them as bodies.
//
// # Concurrency
//
// A Registry is safe for concurrent use. Handle runs the handler in the caller's goroutine;
// its only goroutine of its own is the automatic-defer timer, which ends before Handle
// returns. WatchChoiceFiles runs in the caller's goroutine until its ctx ends.
package commands
