// pulumi-resource-kubernetes for the tests: serves the upstream provider package
// (github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider) with the schema and Terraform
// mapping committed in that module's cmd/pulumi-resource-kubernetes directory.
//
// The two *-embed.json files are not in this repository: build.sh writes them next to a scratch
// copy of this package (see gen/), from the module cache, right before `go build`.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	// version.Version is stamped by build.sh with -ldflags -X (4.25.0).
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
