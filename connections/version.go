package connections

// Version is Cordage's version, sent in the User-Agent of every HTTP request.
const Version = "0.1.0"

// UserAgent is the User-Agent Cordage sends, in the form Discord requires:
// "DiscordBot ($url, $versionNumber)".
const UserAgent = "DiscordBot (https://github.com/cordage/cordage, " + Version + ")"

// DefaultAPIURL is Discord's REST base URL.
const DefaultAPIURL = "https://discord.com/api/v10"
