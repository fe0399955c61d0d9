package events

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// InteractionType is the kind of an interaction.
type InteractionType int

// Interaction types.
const (
	InteractionPing               InteractionType = 1
	InteractionApplicationCommand InteractionType = 2
	InteractionMessageComponent   InteractionType = 3
	InteractionAutocomplete       InteractionType = 4
	InteractionModalSubmit        InteractionType = 5
)

// String returns Discord's name for the type, e.g. "APPLICATION_COMMAND".
func (t InteractionType) String() string {
	switch t {
	case InteractionPing:
		return "PING"
	case InteractionApplicationCommand:
		return "APPLICATION_COMMAND"
	case InteractionMessageComponent:
		return "MESSAGE_COMPONENT"
	case InteractionAutocomplete:
		return "APPLICATION_COMMAND_AUTOCOMPLETE"
	case InteractionModalSubmit:
		return "MODAL_SUBMIT"
	}
	return "InteractionType(" + strconv.Itoa(int(t)) + ")"
}

// InteractionContextType is where an interaction was triggered.
type InteractionContextType int

// Interaction context types.
const (
	ContextGuild          InteractionContextType = 0
	ContextBotDM          InteractionContextType = 1
	ContextPrivateChannel InteractionContextType = 2
)

// Interaction is the data of INTERACTION_CREATE (and the body Discord posts to an interactions
// endpoint). It must be answered over HTTP within 3 seconds; Token stays valid for follow-ups
// for 15 minutes. Token is a credential: never log it.
type Interaction struct {
	ID            Snowflake       `json:"id"`
	ApplicationID Snowflake       `json:"application_id"`
	Type          InteractionType `json:"type"`
	// Data depends on Type; decode it with CommandData, ComponentData or ModalSubmitData.
	Data      json.RawMessage `json:"data,omitempty"`
	Guild     json.RawMessage `json:"guild,omitempty"`
	GuildID   Snowflake       `json:"guild_id,omitempty"`
	Channel   *Channel        `json:"channel,omitempty"`
	ChannelID Snowflake       `json:"channel_id,omitempty"`
	// Member is set in guilds (with User and Permissions), User in DMs: see Invoker.
	Member  *Member `json:"member,omitempty"`
	User    *User   `json:"user,omitempty"`
	Token   string  `json:"token"`
	Version int     `json:"version"`
	// Message is the message a component was attached to.
	Message *Message `json:"message,omitempty"`
	// AppPermissions are the bot's permissions in the channel.
	AppPermissions Permissions `json:"app_permissions"`
	// Locale is the invoking user's language; GuildLocale the guild's preferred one.
	Locale                       string                  `json:"locale,omitempty"`
	GuildLocale                  string                  `json:"guild_locale,omitempty"`
	Entitlements                 json.RawMessage         `json:"entitlements,omitempty"`
	AuthorizingIntegrationOwners json.RawMessage         `json:"authorizing_integration_owners,omitempty"`
	Context                      *InteractionContextType `json:"context,omitempty"`
	// AttachmentSizeLimit is the largest file, in bytes, a reply may attach.
	AttachmentSizeLimit int `json:"attachment_size_limit,omitempty"`
}

// Invoker returns the user who triggered the interaction: Member.User in guilds, User in DMs.
// It returns nil for a PING.
func (i *Interaction) Invoker() *User {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User
	}
	return i.User
}

// CommandData decodes Data for an APPLICATION_COMMAND or autocomplete interaction.
func (i *Interaction) CommandData() (ApplicationCommandData, error) {
	var d ApplicationCommandData
	if i.Type != InteractionApplicationCommand && i.Type != InteractionAutocomplete {
		return d, fmt.Errorf("events: interaction %v has no command data", i.Type)
	}
	return d, i.decodeData(&d)
}

// ComponentData decodes Data for a MESSAGE_COMPONENT interaction.
func (i *Interaction) ComponentData() (MessageComponentData, error) {
	var d MessageComponentData
	if i.Type != InteractionMessageComponent {
		return d, fmt.Errorf("events: interaction %v has no component data", i.Type)
	}
	return d, i.decodeData(&d)
}

// ModalSubmitData decodes Data for a MODAL_SUBMIT interaction.
func (i *Interaction) ModalSubmitData() (ModalSubmitData, error) {
	var d ModalSubmitData
	if i.Type != InteractionModalSubmit {
		return d, fmt.Errorf("events: interaction %v has no modal data", i.Type)
	}
	return d, i.decodeData(&d)
}

func (i *Interaction) decodeData(v any) error {
	if len(i.Data) == 0 {
		return fmt.Errorf("events: interaction %v has no data", i.Type)
	}
	if err := json.Unmarshal(i.Data, v); err != nil {
		return fmt.Errorf("events: decode %v interaction data: %w", i.Type, err)
	}
	return nil
}

// ApplicationCommandType is the kind of an application command.
type ApplicationCommandType int

// Application command types.
const (
	CommandChatInput         ApplicationCommandType = 1 // a slash command
	CommandUser              ApplicationCommandType = 2 // a user context-menu command
	CommandMessage           ApplicationCommandType = 3 // a message context-menu command
	CommandPrimaryEntryPoint ApplicationCommandType = 4
)

// ApplicationCommandOptionType is the type of a command option.
type ApplicationCommandOptionType int

// Application command option types.
const (
	OptionSubCommand      ApplicationCommandOptionType = 1
	OptionSubCommandGroup ApplicationCommandOptionType = 2
	OptionString          ApplicationCommandOptionType = 3
	OptionInteger         ApplicationCommandOptionType = 4 // −(2^53−1) … 2^53−1
	OptionBoolean         ApplicationCommandOptionType = 5
	OptionUser            ApplicationCommandOptionType = 6
	OptionChannel         ApplicationCommandOptionType = 7
	OptionRole            ApplicationCommandOptionType = 8
	OptionMentionable     ApplicationCommandOptionType = 9 // a user or a role
	OptionNumber          ApplicationCommandOptionType = 10
	OptionAttachment      ApplicationCommandOptionType = 11
)

var optionTypeNames = map[ApplicationCommandOptionType]string{
	OptionSubCommand:      "SUB_COMMAND",
	OptionSubCommandGroup: "SUB_COMMAND_GROUP",
	OptionString:          "STRING",
	OptionInteger:         "INTEGER",
	OptionBoolean:         "BOOLEAN",
	OptionUser:            "USER",
	OptionChannel:         "CHANNEL",
	OptionRole:            "ROLE",
	OptionMentionable:     "MENTIONABLE",
	OptionNumber:          "NUMBER",
	OptionAttachment:      "ATTACHMENT",
}

// String returns Discord's name for the type, e.g. "STRING".
func (t ApplicationCommandOptionType) String() string {
	if n, ok := optionTypeNames[t]; ok {
		return n
	}
	return "ApplicationCommandOptionType(" + strconv.Itoa(int(t)) + ")"
}

// ApplicationCommandData is the data of an APPLICATION_COMMAND or autocomplete interaction.
type ApplicationCommandData struct {
	ID   Snowflake              `json:"id"`
	Name string                 `json:"name"`
	Type ApplicationCommandType `json:"type"`
	// Resolved holds the users, members, roles, channels, messages and attachments that the
	// options (or TargetID) refer to.
	Resolved *Resolved                      `json:"resolved,omitempty"`
	Options  []ApplicationCommandDataOption `json:"options,omitempty"`
	// GuildID is set for a guild command.
	GuildID Snowflake `json:"guild_id,omitempty"`
	// TargetID is the user or message a context-menu command was used on.
	TargetID Snowflake `json:"target_id,omitempty"`
}

// Option returns the top-level option with the given name.
func (d ApplicationCommandData) Option(name string) (ApplicationCommandDataOption, bool) {
	return findOption(d.Options, name)
}

// Leaf walks down the subcommand group and subcommand, if any, and returns their names and
// the options given to the command that actually ran. For "/tag edit name:x" it returns
// ["edit"] and the "name" option.
func (d ApplicationCommandData) Leaf() (path []string, options []ApplicationCommandDataOption) {
	options = d.Options
	for len(options) == 1 && (options[0].Type == OptionSubCommand || options[0].Type == OptionSubCommandGroup) {
		path = append(path, options[0].Name)
		options = options[0].Options
	}
	return path, options
}

// Focused returns the option the user is typing in, in an autocomplete interaction.
func (d ApplicationCommandData) Focused() (ApplicationCommandDataOption, bool) {
	_, opts := d.Leaf()
	for _, o := range opts {
		if o.Focused {
			return o, true
		}
	}
	return ApplicationCommandDataOption{}, false
}

// ApplicationCommandDataOption is an option a user filled in (or, for a subcommand, the
// subcommand with its own Options).
type ApplicationCommandDataOption struct {
	Name string                       `json:"name"`
	Type ApplicationCommandOptionType `json:"type"`
	// Value is the raw JSON value: a string, number or boolean, or a snowflake string for user,
	// channel, role, mentionable and attachment options. In autocomplete, a focused option's
	// value is the partial text as a string whatever the type.
	Value   json.RawMessage                `json:"value,omitempty"`
	Options []ApplicationCommandDataOption `json:"options,omitempty"`
	Focused bool                           `json:"focused,omitempty"`
}

// Option returns the sub-option with the given name.
func (o ApplicationCommandDataOption) Option(name string) (ApplicationCommandDataOption, bool) {
	return findOption(o.Options, name)
}

func findOption(opts []ApplicationCommandDataOption, name string) (ApplicationCommandDataOption, bool) {
	for _, o := range opts {
		if o.Name == name {
			return o, true
		}
	}
	return ApplicationCommandDataOption{}, false
}

// StringValue returns the value of a string option.
func (o ApplicationCommandDataOption) StringValue() (string, error) {
	var s string
	if err := json.Unmarshal(o.Value, &s); err != nil {
		return "", fmt.Errorf("events: option %q is not a string: %w", o.Name, err)
	}
	return s, nil
}

// IntValue returns the value of an integer option.
func (o ApplicationCommandDataOption) IntValue() (int64, error) {
	n, err := strconv.ParseInt(string(o.Value), 10, 64)
	if err != nil {
		// An integer can arrive as 3.0 from some clients; accept it when it is whole.
		f, ferr := o.FloatValue()
		if ferr != nil || f != float64(int64(f)) {
			return 0, fmt.Errorf("events: option %q is not an integer: %.40s", o.Name, o.Value)
		}
		return int64(f), nil
	}
	return n, nil
}

// FloatValue returns the value of a number (or integer) option.
func (o ApplicationCommandDataOption) FloatValue() (float64, error) {
	var f float64
	if err := json.Unmarshal(o.Value, &f); err != nil {
		return 0, fmt.Errorf("events: option %q is not a number: %w", o.Name, err)
	}
	return f, nil
}

// BoolValue returns the value of a boolean option.
func (o ApplicationCommandDataOption) BoolValue() (bool, error) {
	var b bool
	if err := json.Unmarshal(o.Value, &b); err != nil {
		return false, fmt.Errorf("events: option %q is not a boolean: %w", o.Name, err)
	}
	return b, nil
}

// SnowflakeValue returns the id of a user, channel, role, mentionable or attachment option; look it
// up in the command's Resolved.
func (o ApplicationCommandDataOption) SnowflakeValue() (Snowflake, error) {
	var s Snowflake
	if len(o.Value) == 0 {
		return 0, fmt.Errorf("events: option %q has no value", o.Name)
	}
	if err := s.UnmarshalJSON(o.Value); err != nil {
		return 0, fmt.Errorf("events: option %q: %w", o.Name, err)
	}
	return s, nil
}

// Resolved holds the objects an interaction's options refer to, by id. Members and Channels
// are partial: a member has no User (see Users), a channel has id, name, type, permissions and
// a few more.
type Resolved struct {
	Users       map[Snowflake]User       `json:"users,omitempty"`
	Members     map[Snowflake]Member     `json:"members,omitempty"`
	Roles       map[Snowflake]Role       `json:"roles,omitempty"`
	Channels    map[Snowflake]Channel    `json:"channels,omitempty"`
	Messages    map[Snowflake]Message    `json:"messages,omitempty"`
	Attachments map[Snowflake]Attachment `json:"attachments,omitempty"`
}

// ComponentType is the kind of a message component.
type ComponentType int

// Component types.
const (
	ComponentActionRow         ComponentType = 1
	ComponentButton            ComponentType = 2
	ComponentStringSelect      ComponentType = 3
	ComponentTextInput         ComponentType = 4
	ComponentUserSelect        ComponentType = 5
	ComponentRoleSelect        ComponentType = 6
	ComponentMentionableSelect ComponentType = 7
	ComponentChannelSelect     ComponentType = 8
	ComponentSection           ComponentType = 9
	ComponentTextDisplay       ComponentType = 10
	ComponentThumbnail         ComponentType = 11
	ComponentMediaGallery      ComponentType = 12
	ComponentFile              ComponentType = 13
	ComponentSeparator         ComponentType = 14
	ComponentContainer         ComponentType = 17
	ComponentLabel             ComponentType = 18
	ComponentFileUpload        ComponentType = 19
	ComponentRadioGroup        ComponentType = 21
	ComponentCheckboxGroup     ComponentType = 22
	ComponentCheckbox          ComponentType = 23
)

// MessageComponentData is the data of a MESSAGE_COMPONENT interaction: a button press or a
// select menu choice.
type MessageComponentData struct {
	CustomID      string        `json:"custom_id"`
	ComponentType ComponentType `json:"component_type"`
	// Values are the chosen options (or ids, for user/role/channel selects).
	Values   []string  `json:"values,omitempty"`
	Resolved *Resolved `json:"resolved,omitempty"`
}

// ModalSubmitData is the data of a MODAL_SUBMIT interaction. Components is kept raw: it mirrors
// the modal's layout, which Components V2 keeps extending.
type ModalSubmitData struct {
	CustomID   string          `json:"custom_id"`
	Components json.RawMessage `json:"components"`
	Resolved   *Resolved       `json:"resolved,omitempty"`
}
