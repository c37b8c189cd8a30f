package meetingagent_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmePath is the repository's README, seen from this package's directory.
var readmePath = filepath.Join("..", "..", "..", "README.md")

// readmeSection is the heading of the README section for Go users.
const readmeSection = "## Go"

// exampleFunc matches the doc comment and signature of the package example.
var exampleFunc = regexp.MustCompile(`(?m)^(//.*\n)*func Example\(\) \{$`)

// goBlock matches a fenced Go code block of the README.
var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestReadmeExample keeps the Go code of the README compiled: its program must be
// Example (example_test.go) turned into a main package, and every other Go block
// must appear, indented by one tab, in example_snippets_test.go. `go vet` and
// `go test` compile both files.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is not here (not a checkout of the repository)", readmePath)
	}
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "\n"+readmeSection+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", readmePath, readmeSection)
	}
	section = section[start+1:]
	if end := strings.Index(section[len(readmeSection):], "\n## "); end >= 0 {
		section = section[:len(readmeSection)+end]
	}
	blocks := goBlock.FindAllStringSubmatch(section, -1)
	if len(blocks) == 0 {
		t.Fatalf("section %q of %s has no ```go block", readmeSection, readmePath)
	}

	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	program := string(example)
	program = "package main\n" + exampleFunc.ReplaceAllString(program[strings.Index(program, "\nimport ("):], "func main() {")
	if blocks[0][1] != program {
		t.Errorf("the first Go block of section %q of %s differs from Example in example_test.go; it should be:\n%s",
			readmeSection, readmePath, program)
	}

	snippets, err := os.ReadFile("example_snippets_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range blocks[1:] {
		lines := strings.SplitAfter(block[1], "\n")
		for i, line := range lines {
			if strings.TrimSpace(line) != "" {
				lines[i] = "\t" + line
			}
		}
		if !strings.Contains(string(snippets), strings.Join(lines, "")) {
			t.Errorf("this Go block of %s is not in example_snippets_test.go (indented by one tab):\n%s", readmePath, block[1])
		}
	}
}
