package events

// SoundboardSound is a sound in a guild's soundboard (or a default sound, with no GuildID).
type SoundboardSound struct {
	Name      string    `json:"name"`
	SoundID   Snowflake `json:"sound_id"`
	Volume    float64   `json:"volume"`
	EmojiID   Snowflake `json:"emoji_id,omitempty"`
	EmojiName *string   `json:"emoji_name,omitempty"`
	GuildID   Snowflake `json:"guild_id,omitempty"`
	Available bool      `json:"available"`
	User      *User     `json:"user,omitempty"`
}

// SoundboardSounds is the data of SOUNDBOARD_SOUNDS (one per guild asked for with op 31) and
// of GUILD_SOUNDBOARD_SOUNDS_UPDATE.
type SoundboardSounds struct {
	GuildID          Snowflake         `json:"guild_id"`
	SoundboardSounds []SoundboardSound `json:"soundboard_sounds"`
}

// GuildSoundboardSoundDelete is the data of GUILD_SOUNDBOARD_SOUND_DELETE.
type GuildSoundboardSoundDelete struct {
	SoundID Snowflake `json:"sound_id"`
	GuildID Snowflake `json:"guild_id"`
}
