package messaging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
)

// multipartBody builds Discord's upload body: payload_json holding the JSON body, then one
// files[n] part per file. If the payload has no "attachments" array, one is added that names
// each file (id n, filename, description), so the files show up as attachments.
func multipartBody(payload []byte, files []File) ([]byte, string, error) {
	for i, f := range files {
		if f.Name == "" {
			return nil, "", invalid(fmt.Sprintf("files[%d]", i), "empty name")
		}
		if strings.ContainsAny(f.Name, "\"\r\n/\\") {
			return nil, "", invalid(fmt.Sprintf("files[%d]", i), "name %q contains quotes, slashes or line breaks", f.Name)
		}
	}
	obj := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(payload)) > 0 {
		if err := json.Unmarshal(payload, &obj); err != nil {
			return nil, "", invalid("body", "files need a JSON object body: %v", err)
		}
	}
	if _, has := obj["attachments"]; !has {
		type ref struct {
			ID          int    `json:"id"`
			Filename    string `json:"filename"`
			Description string `json:"description,omitempty"`
		}
		refs := make([]ref, len(files))
		for i, f := range files {
			refs[i] = ref{ID: i, Filename: f.Name, Description: f.Description}
		}
		enc, _ := json.Marshal(refs)
		obj["attachments"] = enc
	}
	pj, err := json.Marshal(obj)
	if err != nil {
		return nil, "", invalid("body", "cannot encode: %v", err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="payload_json"`)
	h.Set("Content-Type", "application/json")
	w, _ := mw.CreatePart(h)
	w.Write(pj)
	for i, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files[%d]"; filename="%s"`, i, f.Name))
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		w, _ := mw.CreatePart(h)
		w.Write(f.Data)
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}
