//go:build linux

package agent

import (
	"crypto/rand"
	"math/big"
	"regexp"
	"strconv"
)

// validContainerName is docker's rule for container names.
var validContainerName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// nameAdjectives and nameSurnames make docker-style random container names
// ("adjective_surname"). The surnames are of scientists and engineers.
var nameAdjectives = [...]string{
	"able", "agile", "amazing", "amused", "ancient", "bold", "brave", "bright", "brisk", "busy",
	"calm", "careful", "cheerful", "clever", "cool", "cosmic", "crisp", "curious", "daring", "dazzling",
	"deft", "devoted", "diligent", "dreamy", "eager", "earnest", "elated", "elegant", "epic", "fervent",
	"festive", "fierce", "fond", "friendly", "gallant", "gentle", "gifted", "glad", "gleaming", "graceful",
	"grand", "happy", "hardy", "hearty", "helpful", "honest", "hopeful", "humble", "jolly", "jovial",
	"keen", "kind", "lively", "loyal", "lucid", "lucky", "merry", "mighty", "modest", "nifty",
	"nimble", "noble", "patient", "peaceful", "placid", "plucky", "polite", "proud", "quick", "quiet",
	"radiant", "rapid", "relaxed", "serene", "sharp", "shiny", "silent", "sleek", "smart", "snappy",
	"solid", "spry", "stoic", "sturdy", "sunny", "swift", "tender", "thrifty", "tidy", "trusty",
	"upbeat", "valiant", "vibrant", "vigilant", "vivid", "warm", "wise", "witty", "zealous", "zen",
}

var nameSurnames = [...]string{
	"agnesi", "alhazen", "archimedes", "ardinghelli", "aryabhata", "babbage", "banach", "bardeen", "bell", "bhabha",
	"blackwell", "bohr", "boole", "borg", "bose", "brahmagupta", "brattain", "cannon", "carson", "cerf",
	"chandrasekhar", "clarke", "cohen", "curie", "darwin", "davinci", "dijkstra", "dirac", "easley", "edison",
	"einstein", "elion", "engelbart", "euclid", "euler", "faraday", "fermat", "fermi", "feynman", "franklin",
	"galileo", "gauss", "germain", "goldberg", "goodall", "hamilton", "hawking", "heisenberg", "hertz", "hodgkin",
	"hopper", "hypatia", "jackson", "jang", "johnson", "kalam", "kepler", "khorana", "knuth", "kowalevski",
	"lalande", "lamarr", "lamport", "leakey", "leavitt", "lovelace", "lumiere", "margulis", "maxwell", "mayer",
	"mccarthy", "mclean", "meitner", "mendel", "mirzakhani", "morse", "napier", "newton", "nobel", "noether",
	"noyce", "pascal", "pasteur", "payne", "perlman", "pike", "planck", "raman", "ritchie", "rosalind",
	"sammet", "shannon", "shockley", "sinoussi", "tesla", "thompson", "torvalds", "turing", "wilson", "wozniak",
}

// randomContainerName returns a docker-style name. With retry > 0 a digit
// is appended, as docker does after a collision.
func randomContainerName(retry int) string {
	name := nameAdjectives[randIndex(len(nameAdjectives))] + "_" + nameSurnames[randIndex(len(nameSurnames))]
	if retry > 0 {
		name += strconv.Itoa(randIndex(10))
	}
	return name
}

func randIndex(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0
	}
	return int(v.Int64())
}
