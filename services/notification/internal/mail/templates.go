package mail

import (
	htmltemplate "html/template"
	"net/textproto"
	texttemplate "text/template"
)

// textprotoError is what net/smtp returns for an SMTP reply code.
type textprotoError = textproto.Error

// emailView is what the templates see. html/template escapes every field
// in its context (text, attribute, URL): a movie called
// `<script>` arrives as text.
type emailView struct {
	Name        string
	Title       string
	Body        string
	Link        string
	Unsubscribe string
}

var textTemplate = texttemplate.Must(texttemplate.New("text").Parse(
	`Hello{{if .Name}} {{.Name}}{{end}},

{{.Title}}

{{.Body}}

Open Tenflix: {{.Link}}

--
You receive this because email notifications are on in your Tenflix
preferences. Turn them off: {{.Unsubscribe}}
`))

var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:sans-serif;max-width:36em">
<p>Hello{{if .Name}} {{.Name}}{{end}},</p>
<h1 style="font-size:1.3em">{{.Title}}</h1>
<p>{{.Body}}</p>
<p><a href="{{.Link}}">Open Tenflix</a></p>
<hr>
<p style="font-size:.8em;color:#666">You receive this because email notifications are on in your
Tenflix preferences. <a href="{{.Unsubscribe}}">Unsubscribe</a></p>
</body></html>
`))
