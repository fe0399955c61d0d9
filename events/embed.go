package events

import "time"

// Embed is rich content in a message. A message carries at most 10, with at most 6000
// characters in all.
type Embed struct {
	Title       string     `json:"title,omitempty"`
	Type        string     `json:"type,omitempty"` // "rich" for bot embeds
	Description string     `json:"description,omitempty"`
	URL         string     `json:"url,omitempty"`
	Timestamp   *time.Time `json:"timestamp,omitempty"`
	// Color is 0xRRGGBB.
	Color     int            `json:"color,omitempty"`
	Footer    *EmbedFooter   `json:"footer,omitempty"`
	Image     *EmbedMedia    `json:"image,omitempty"`
	Thumbnail *EmbedMedia    `json:"thumbnail,omitempty"`
	Video     *EmbedMedia    `json:"video,omitempty"`
	Provider  *EmbedProvider `json:"provider,omitempty"`
	Author    *EmbedAuthor   `json:"author,omitempty"`
	Fields    []EmbedField   `json:"fields,omitempty"`
}

// EmbedFooter is the small text under an embed.
type EmbedFooter struct {
	Text         string `json:"text"`
	IconURL      string `json:"icon_url,omitempty"`
	ProxyIconURL string `json:"proxy_icon_url,omitempty"`
}

// EmbedMedia is an embed's image, thumbnail or video.
type EmbedMedia struct {
	URL      string `json:"url"`
	ProxyURL string `json:"proxy_url,omitempty"`
	Height   int    `json:"height,omitempty"`
	Width    int    `json:"width,omitempty"`
}

// EmbedProvider names the site an embed came from.
type EmbedProvider struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// EmbedAuthor is the line above an embed's title.
type EmbedAuthor struct {
	Name         string `json:"name"`
	URL          string `json:"url,omitempty"`
	IconURL      string `json:"icon_url,omitempty"`
	ProxyIconURL string `json:"proxy_icon_url,omitempty"`
}

// EmbedField is a name/value pair in an embed (at most 25).
type EmbedField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}
