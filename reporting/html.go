package reporting

import (
	"bytes"
	"html/template"
	"strings"
)

var htmlTmpl = template.Must(template.New("doc").Funcs(template.FuncMap{
	"lines": func(s string) []string { return strings.Split(s, "\n") },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; color: #1d2127; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .subtitle { font-size: 1.15rem; margin-top: 0; }
.banner { background: #1d2127; color: #ffc000; padding: .4rem .7rem; font-weight: 600; }
h2 { border-bottom: 1px solid #d7dce2; padding-bottom: .2rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #e3e7ec; padding: .35rem .5rem; overflow-wrap: anywhere; }
th { background: #f4f6f8; } dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { color: #5a6470; } dd { margin: 0; } .empty { font-style: italic; color: #5a6470; }
footer { margin-top: 2rem; color: #5a6470; font-size: .9rem; border-top: 1px solid #d7dce2; padding-top: .5rem; }
@media print { body { margin: 0; max-width: none; } }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Subtitle}}<p class="subtitle">{{.}}</p>{{end}}
{{with .Banner}}<p class="banner">{{.}}</p>{{end}}
{{range .Blocks}}{{if .Heading}}<h2>{{.Heading}}</h2>
{{else if .Para}}<p>{{range $i, $l := lines .Para}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{else if .Empty}}<p class="empty">{{.Empty}}</p>
{{else if .Facts}}<dl>{{range .Facts}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>
{{else if .Table}}<table><thead><tr>{{range .Table.Head}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Table.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>
{{end}}{{end}}
{{with .Footer}}<footer>{{.}}</footer>{{end}}
</body>
</html>
`))

// HTML writes the report as a standalone HTML page (styles inline, nothing
// loaded from anywhere), fit to print.
func (d *Doc) HTML() []byte {
	var b bytes.Buffer
	if err := htmlTmpl.Execute(&b, d); err != nil {
		panic(err) // the template and the model are both ours
	}
	return b.Bytes()
}
