// gen SRC_DIR OUT_DIR VERSION: reads schema.json and terraform-mapping.json from SRC_DIR (the
// provider module's cmd/pulumi-resource-kubernetes directory in the module cache), sets the
// schema's "version" to VERSION, and writes compact schema-embed.json and
// terraform-mapping-embed.json into OUT_DIR.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func compact(src string, edit func(map[string]any)) []byte {
	raw, err := os.ReadFile(src)
	if err != nil {
		fail(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		fail(fmt.Errorf("%s: %w", src, err))
	}
	if edit != nil {
		edit(doc)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		fail(err)
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 4 {
		fail(fmt.Errorf("usage: gen SRC_DIR OUT_DIR VERSION"))
	}
	src, out, version := os.Args[1], os.Args[2], os.Args[3]
	schema := compact(filepath.Join(src, "schema.json"), func(d map[string]any) { d["version"] = version })
	mapping := compact(filepath.Join(src, "terraform-mapping.json"), nil)
	if err := os.WriteFile(filepath.Join(out, "schema-embed.json"), schema, 0o644); err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(out, "terraform-mapping-embed.json"), mapping, 0o644); err != nil {
		fail(err)
	}
}
