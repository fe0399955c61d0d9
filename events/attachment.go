package events

// Attachment is a file attached to a message or given to a command option.
type Attachment struct {
	ID          Snowflake `json:"id"`
	Filename    string    `json:"filename"`
	Title       string    `json:"title,omitempty"`
	Description string    `json:"description,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	// Size is in bytes.
	Size     int    `json:"size"`
	URL      string `json:"url"`
	ProxyURL string `json:"proxy_url"`
	// Height and Width are set for images and videos.
	Height    *int `json:"height,omitempty"`
	Width     *int `json:"width,omitempty"`
	Ephemeral bool `json:"ephemeral,omitempty"`
	// DurationSecs and Waveform are set for voice messages.
	DurationSecs float64 `json:"duration_secs,omitempty"`
	Waveform     string  `json:"waveform,omitempty"`
	Flags        int     `json:"flags,omitempty"`
}
