package http

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/evidence"
)

// EvidenceList is an incident's evidence.
type EvidenceList struct {
	Evidence []*vigil.Evidence `json:"evidence"`
}

// EvidenceView is a piece of evidence with its chain of custody.
type EvidenceView struct {
	Evidence *vigil.Evidence       `json:"evidence"`
	Custody  []*vigil.CustodyEntry `json:"custody"`
}

// LegalHold places or lifts a legal hold.
type LegalHold struct {
	Hold   bool   `json:"hold"`
	Reason string `json:"reason"`
}

// evidenceFields are the text parts an upload may carry beside "file".
var evidenceFields = map[string]string{
	"name":           "The file name to keep; default the uploaded file's name (folders are dropped).",
	"description":    "What it is and why it matters.",
	"media_type":     "Its media type; default the file part's Content-Type.",
	"collected_by":   "Who took it from its source.",
	"collected_at":   "When (RFC 3339).",
	"collected_from": "The host, device, mailbox or account it came from.",
	"method":         "How it was acquired: the tool and the way.",
}

// uploadSchema is the multipart/form-data body of an upload.
func uploadSchema() map[string]any {
	props := map[string]any{"file": map[string]any{"type": "string", "format": "binary", "contentMediaType": "application/octet-stream",
		"description": "The file; send it as the last part."}}
	for name, desc := range evidenceFields {
		props[name] = map[string]any{"type": "string", "description": desc}
	}
	props["collected_at"] = map[string]any{"type": "string", "format": "date-time", "description": evidenceFields["collected_at"]}
	return map[string]any{"type": "object", "properties": props, "required": []any{"file"}, "additionalProperties": false}
}

const maxUploadField = 16 << 10

// ReadEvidenceUpload reads a multipart/form-data upload as it streams in:
// the text parts into e, then the file, which must come last, to add. Times
// without a zone are read in loc (as a browser's datetime-local sends them).
// A csrf_token part is skipped (the middleware checked it). Nothing is kept
// when add fails or when anything but the end follows the file.
func ReadEvidenceUpload(r *http.Request, loc *time.Location, e *vigil.Evidence, add func(e *vigil.Evidence, file io.Reader) error) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return vigil.Invalid("file", "Send the file as multipart/form-data, with a part named file.")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return vigil.Invalid("file", "Send the file as multipart/form-data, with a part named file.")
	}
	var p vigil.Problems
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return vigil.Invalid("file", "No file came with the request: send it in a part named file.")
		} else if err != nil {
			return vigil.Invalid("file", "The multipart body is malformed: %v.", err)
		}
		name := part.FormName()
		if name == "file" {
			if err := p.Err(); err != nil {
				return err
			}
			if e.Name == "" {
				e.Name = part.FileName()
			}
			if e.Name == "" {
				return vigil.Invalid("name", "Give the file a name.")
			}
			if e.MediaType == "" {
				if ct, _, err := mime.ParseMediaType(part.Header.Get("Content-Type")); err == nil {
					e.MediaType = ct
				}
			}
			return add(e, &lastPart{part: part, mr: mr})
		}
		if parts > 2*len(evidenceFields) {
			return vigil.Invalid("file", "Too many parts before the file.")
		}
		b, err := io.ReadAll(io.LimitReader(part, maxUploadField+1))
		if err != nil {
			return vigil.Invalid(name, "The part could not be read: %v.", err)
		}
		if len(b) > maxUploadField {
			p.Add(name, "At most %d bytes.", maxUploadField)
			continue
		}
		v := strings.TrimSpace(string(b))
		switch name {
		case "csrf_token":
		case "name":
			e.Name = v
		case "description":
			e.Description = v
		case "media_type":
			e.MediaType = v
		case "collected_by":
			e.CollectedBy = v
		case "collected_from":
			e.CollectedFrom = v
		case "method":
			e.Method = v
		case "collected_at":
			if v == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				if t, err = time.ParseInLocation("2006-01-02T15:04", v, loc); err != nil {
					p.Add(name, "Give a time such as 2026-11-30T14:05:00Z.")
					continue
				}
			}
			e.CollectedAt = &t
		default:
			p.Add(name, "Unknown field.")
		}
	}
}

// lastPart reads the file part and, at its end, makes sure nothing but the
// end of the body follows, so that a field sent after the file is refused
// before anything is recorded rather than silently dropped.
type lastPart struct {
	part *multipart.Part
	mr   *multipart.Reader
}

func (l *lastPart) Read(b []byte) (int, error) {
	n, err := l.part.Read(b)
	if err == io.EOF {
		if next, nerr := l.mr.NextPart(); nerr != io.EOF {
			if nerr == nil {
				return n, vigil.Invalid(next.FormName(), "Send the file as the last part: nothing may follow it.")
			}
			return n, vigil.Invalid("file", "The multipart body is malformed: %v.", nerr)
		}
	}
	return n, err
}

// CustodyRead refuses the reads that would write a custody entry without
// the user meaning them: a HEAD request, or a GET a page on another site
// made the browser send (Sec-Fetch-Site: cross-site or same-site), which
// would put a view or download in the user's name on the chain of custody.
func CustodyRead(r *http.Request) error {
	if r.Method == http.MethodHead {
		return vigil.Errorf(vigil.EINVALID, "Use GET: each read of evidence is recorded in its chain of custody.")
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return nil
	}
	return vigil.Errorf(vigil.EFORBIDDEN, "Evidence opens only from Vigil's own pages: each read is recorded in its chain of custody.")
}

func (s *Server) handleEvidenceList(w http.ResponseWriter, r *http.Request, id int64) error {
	list, err := s.Services.Evidence.FindEvidence(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, EvidenceList{Evidence: list})
	return nil
}

func (s *Server) handleEvidenceUpload(w http.ResponseWriter, r *http.Request, id int64) error {
	e := &vigil.Evidence{IncidentID: id}
	err := ReadEvidenceUpload(r, time.UTC, e, func(e *vigil.Evidence, file io.Reader) error {
		return s.Services.Evidence.AddEvidence(r.Context(), e, file)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/evidence/%d", e.ID))
	s.json(w, http.StatusCreated, e)
	return nil
}

func (s *Server) handleEvidenceView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := CustodyRead(r); err != nil {
		return err
	}
	e, log, err := s.Services.Evidence.ViewEvidence(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, EvidenceView{Evidence: e, Custody: log})
	return nil
}

// ServeEvidence sends a piece of evidence as a download, logging it in its
// chain of custody. The content is always sent as an attachment of type
// application/octet-stream, whatever the uploader called it, so that no
// uploaded page or script runs in Vigil's origin.
func ServeEvidence(w http.ResponseWriter, r *http.Request, svc vigil.EvidenceService, id int64) error {
	if err := CustodyRead(r); err != nil {
		return err
	}
	e, rc, err := svc.OpenEvidence(r.Context(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	sum, _ := hex.DecodeString(e.SHA256)
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.Name}))
	h.Set("Content-Length", fmt.Sprint(e.Size))
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":") // RFC 9530
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		panic(http.ErrAbortHandler) // a cut-off download must not look whole
	}
	return nil
}

func (s *Server) handleEvidenceContent(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	return ServeEvidence(w, r, s.Services.Evidence, id)
}

// ServeEvidencePackage sends an incident's evidence package (zip),
// logging the export of each piece in its chain of custody.
func ServeEvidencePackage(w http.ResponseWriter, r *http.Request, svc vigil.Services, incidentID int64, now time.Time) error {
	if err := vigil.Require(vigil.ActorFromContext(r.Context()), vigil.PermIncidentEdit); err != nil {
		return err
	}
	if err := CustodyRead(r); err != nil {
		return err
	}
	inc, err := svc.Incidents.FindIncidentByID(r.Context(), incidentID)
	if err != nil {
		return err
	}
	exports, err := svc.Evidence.ExportEvidence(r.Context(), incidentID)
	if err != nil {
		return err
	}
	if len(exports) == 0 {
		return vigil.Errorf(vigil.ENOTFOUND, "This incident holds no evidence to export.")
	}
	by := "unknown"
	if a := vigil.ActorFromContext(r.Context()); a != nil {
		by = a.Username
		if a.Name != "" {
			by = a.Name
		}
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": inc.Reference + "-evidence.zip"}))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := evidence.Write(w, evidence.Incident{ID: inc.ID, Reference: inc.Reference, Title: inc.Title}, by, now, exports); err != nil {
		panic(http.ErrAbortHandler) // a cut-off package must not look whole
	}
	return nil
}

func (s *Server) handleEvidencePackage(w http.ResponseWriter, r *http.Request, id int64) error {
	return ServeEvidencePackage(w, r, s.Services, id, s.Now())
}

func (s *Server) handleEvidenceTransfer(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var t vigil.Transfer
	if err := s.decode(w, r, &t); err != nil {
		return err
	}
	e, err := s.Services.Evidence.TransferEvidence(r.Context(), id, t)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, e)
	return nil
}

func (s *Server) handleEvidenceVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := s.Services.Evidence.VerifyEvidence(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, c)
	return nil
}

func (s *Server) handleEvidenceHold(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var h LegalHold
	if err := s.decode(w, r, &h); err != nil {
		return err
	}
	e, err := s.Services.Evidence.SetLegalHold(r.Context(), id, h.Hold, h.Reason)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, e)
	return nil
}

func (s *Server) handleEvidenceDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Evidence.DeleteEvidence(r.Context(), id, r.URL.Query().Get("reason")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
