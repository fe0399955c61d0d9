package events

// Status is a presence status.
type Status string

// Presence statuses.
const (
	StatusOnline    Status = "online"
	StatusDND       Status = "dnd"
	StatusIdle      Status = "idle"
	StatusInvisible Status = "invisible"
	StatusOffline   Status = "offline"
)

// ActivityType says how an activity is shown ("Playing …", "Watching …").
type ActivityType int

// Activity types.
const (
	ActivityPlaying   ActivityType = 0
	ActivityStreaming ActivityType = 1 // URL must be a twitch.tv or youtube.com link
	ActivityListening ActivityType = 2
	ActivityWatching  ActivityType = 3
	ActivityCustom    ActivityType = 4 // shows State
	ActivityCompeting ActivityType = 5
)

// Activity is what a presence shows. Bots may set only Name, Type, URL and State.
type Activity struct {
	Name  string       `json:"name"`
	Type  ActivityType `json:"type"`
	URL   string       `json:"url,omitempty"`
	State string       `json:"state,omitempty"`
}

// NewActivity builds an activity, as discljord's create-activity does.
func NewActivity(name string, typ ActivityType, url string) Activity {
	return Activity{Name: name, Type: typ, URL: url}
}

// PresenceUpdate is the data of op 3, and the presence field of Identify.
type PresenceUpdate struct {
	// Since is the Unix time in milliseconds when the client went idle; nil if it is not idle.
	Since      *int64     `json:"since"`
	Activities []Activity `json:"activities"`
	Status     Status     `json:"status"`
	AFK        bool       `json:"afk"`
}
