package changecorpus

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/vigil-ops/vigil/tests/testenv"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// families are the situations the corpus must cover (the brief's list).
var families = []string{
	"error-rate jump", "error-rate jump, low traffic", "tiny error change", "moderate error rise",
	"latency shift in p50", "latency shift only in p95", "small latency change", "latency improved",
	"traffic drop", "traffic gone", "ordinary throughput movement", "traffic surge", "daily rhythm",
	"daily rhythm with an error jump", "weekly rhythm", "batch job error window", "noisy but unchanged",
	"slow drift over days", "deployment that fixed an incident", "new service", "no log pipeline",
	"no log pipeline with an error-rate jump", "sparse low-traffic service", "sparse service with an error jump",
	"counter resets from restarts", "counter resets with a latency shift", "error logs jump with a new exception type",
	"log pipeline gone", "FATAL logs appear", "label variety", "label variety with a p95 shift on one route",
	"10-minute window", "10-minute window with an error jump", "10-minute window with a latency shift",
	"4-hour window with daily rhythm",
	// held out
	"sparse without a log pipeline", "counter resets with daily rhythm", "WARN logs rise", "404 surge",
}

func TestFamiliesCovered(t *testing.T) {
	have := map[string]bool{}
	tuning, held := 0, 0
	for _, s := range Scenarios() {
		have[s.Family] = true
		if s.HeldOut {
			held++
		} else {
			tuning++
		}
	}
	for _, f := range families {
		if !have[f] {
			t.Errorf("no scenario covers %q", f)
		}
	}
	if tuning < 30 || held < 10 {
		t.Errorf("%d tuning and %d held-out scenarios, want at least 30 and 10", tuning, held)
	}
	// Held-out scenarios must not share a seed with tuning ones.
	seeds := map[uint64]string{}
	for _, s := range Scenarios() {
		if o, ok := seeds[s.seed]; ok {
			t.Errorf("%s and %s share seed %d", s.Name, o, s.seed)
		}
		seeds[s.seed] = s.Name
	}
}

func TestScenariosValid(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	seen := map[string]bool{}
	for _, s := range Scenarios() {
		if !valid.MatchString(s.Name) || seen[s.Name] {
			t.Errorf("name %q invalid or repeated", s.Name)
		}
		seen[s.Name] = true
		if !slices.Contains([]time.Duration{10 * time.Minute, time.Hour, 4 * time.Hour}, s.Window) {
			t.Errorf("%s: window %v", s.Name, s.Window)
		}
		if !slices.Contains([]string{Stable, MostlyStable, Unstable}, s.Want) {
			t.Errorf("%s: want %q", s.Name, s.Want)
		}
		if s.WantGate != Proceed && s.WantGate != Hold {
			t.Errorf("%s: gate %q", s.Name, s.WantGate)
		}
		for _, k := range append(append([]string{}, s.WantKinds...), s.MayKinds...) {
			if !slices.Contains([]string{"TRANSACTION", "ISSUE", "ALERT"}, k) {
				t.Errorf("%s: kind %q", s.Name, k)
			}
		}
		if s.Want == Stable && len(s.WantKinds) > 0 {
			t.Errorf("%s: STABLE with kinds %v", s.Name, s.WantKinds)
		}
		if s.Want != Stable && len(s.WantKinds) == 0 && s.Family != "new service" {
			t.Errorf("%s: %s without kinds", s.Name, s.Want)
		}
		if s.noLogs != (len(s.NotCollected) > 0) {
			t.Errorf("%s: no log pipeline %v but NotCollected %v", s.Name, s.noLogs, s.NotCollected)
		}
		if s.Note == "" || s.RPS <= 0 {
			t.Errorf("%s: note or rps missing", s.Name)
		}
	}
}

// series is one parsed OpenMetrics series' running state.
type seriesState struct {
	last, lastTS float64
}

// splitSample splits `name{labels} value ts` into [line, name, labels, value, ts].
func splitSample(l string) ([5]string, bool) {
	var m [5]string
	open := strings.IndexByte(l, '{')
	closing := strings.LastIndexByte(l, '}')
	if open <= 0 || closing < open {
		return m, false
	}
	rest := strings.Fields(l[closing+1:])
	if len(rest) != 2 {
		return m, false
	}
	m[0], m[1], m[2], m[3], m[4] = l, l[:open], l[open+1:closing], rest[0], rest[1]
	return m, true
}

// TestCountersMonotonic reads the generated file back: every series in time order, on multiples
// of the interval, counters never decreasing except at a scenario's declared resets, bucket
// counts cumulative in le and +Inf equal to _count.
func TestCountersMonotonic(t *testing.T) {
	anchor := time.Now()
	for _, scrape := range []time.Duration{time.Minute, 15 * time.Second} {
		t.Run(scrape.String(), func(t *testing.T) {
			a := anchor.Truncate(scrape)
			resets := map[string][]int64{}
			for _, s := range Scenarios() {
				for _, r := range Resets(a, s) {
					// the first sample at or after the reset
					ts := r.Truncate(scrape)
					if ts.Before(r) {
						ts = ts.Add(scrape)
					}
					resets[s.Name] = append(resets[s.Name], ts.Unix())
				}
			}
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(WriteOpenMetrics(pw, anchor, scrape, Scenarios())) }()
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			states := map[string]*seriesState{}
			app := regexp.MustCompile(`service_name="([^"]+)"`)
			inf := map[string]float64{} // labels without le at a timestamp → +Inf bucket
			lines, decreases, seenEOF := 0, 0, false
			for sc.Scan() {
				l := sc.Text()
				if strings.HasPrefix(l, "#") {
					seenEOF = seenEOF || l == "# EOF"
					continue
				}
				lines++
				m, ok := splitSample(l)
				if !ok {
					t.Fatalf("bad line %q", l)
				}
				v, err1 := strconv.ParseFloat(m[3], 64)
				stamp, err2 := strconv.ParseFloat(m[4], 64)
				// Samples carry their target's scrape phase and jitter: the nominal time is the
				// next multiple of the interval.
				ts := int64(math.Ceil(stamp/scrape.Seconds())) * int64(scrape.Seconds())
				if err1 != nil || err2 != nil || v < 0 || float64(ts)-stamp >= scrape.Seconds() || float64(ts) == stamp {
					t.Fatalf("bad sample %q", l)
				}
				key := m[1] + "{" + m[2] + "}"
				st := states[key]
				if st == nil {
					st = &seriesState{lastTS: -1}
					states[key] = st
				}
				if stamp <= st.lastTS {
					t.Fatalf("series %s not in time order at %d", key, ts)
				}
				if v < st.last {
					name := app.FindStringSubmatch(m[2])[1] // only on a decrease: rare
					if !slices.Contains(resets[name], ts) {
						t.Fatalf("series %s decreases %v → %v at %d, not a declared reset (%v)", key, st.last, v, ts, resets[name])
					}
					decreases++
				}
				st.last, st.lastTS = v, stamp
				switch {
				case m[1] == histFamily+"_bucket" && strings.HasSuffix(m[2], `le="+Inf"`):
					inf[strings.TrimSuffix(m[2], `,le="+Inf"`)+"@"+m[4]] = v
				case m[1] == histFamily+"_count":
					if iv, ok := inf[m[2]+"@"+m[4]]; !ok || iv != v {
						t.Fatalf("%s: count %v, +Inf bucket %v (%v)", key, v, iv, ok)
					}
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if !seenEOF {
				t.Fatal("no # EOF")
			}
			if decreases == 0 {
				t.Error("no counter reset at all: the restart scenarios should have some")
			}
			t.Logf("%d samples in %d series, %d declared resets seen", lines, len(states), decreases)
		})
	}
}

// TestBucketsCumulative checks, on one scenario, that bucket counts grow with le.
func TestBucketsCumulative(t *testing.T) {
	s, _ := Lookup("latency-tail-shift")
	ts := samples(time.Now().Truncate(time.Minute), s, time.Minute)
	for ui, u := range s.units() {
		series, present := s.unitSeries(time.Now().Truncate(time.Minute), ts, time.Minute, ui, u)
		for c := range u.codes {
			for k := range ts {
				if !present[k] {
					continue
				}
				row := series[c][k]
				for b := 1; b < len(les); b++ {
					if row[b] < row[b-1] {
						t.Fatalf("bucket %v < bucket %v", row[b], row[b-1])
					}
				}
			}
		}
	}
	// and the distributions say what the notes say
	before, after := s.lat, lognormal(0.080, 0.45).withTail(0.12, 1.5, 0.25)
	if r := after.quantile(0.5) / before.quantile(0.5); r > 1.15 {
		t.Errorf("p50 moved ×%.2f", r)
	}
	if r := after.quantile(0.95) / before.quantile(0.95); r < 4 {
		t.Errorf("p95 moved only ×%.2f", r)
	}
}

// promQuery runs an instant query and returns its single value (NaN when empty).
func promQuery(t *testing.T, base, q string, at time.Time) float64 {
	t.Helper()
	u := base + "/api/v1/query?" + url.Values{"query": {q}, "time": {strconv.FormatInt(at.Unix(), 10)}}.Encode()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s", q, err, r.Error)
	}
	if len(r.Data.Result) != 1 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(r.Data.Result[0].Value[1].(string), 64)
	return v
}

func near(got, want, rel float64) bool { return math.Abs(got-want) <= rel*want }

// TestBackfillIntoRealPrometheus generates the corpus at each scrape interval, backfills it with
// the real promtool and queries a real Prometheus over it.
func TestBackfillIntoRealPrometheus(t *testing.T) {
	for _, name := range []string{"prometheus", "promtool"} {
		if _, err := Binary(name); err != nil {
			testenv.Missing(t, "%v", err) // fails in CI; skipped with the how-to on a laptop
		}
	}
	anchor := time.Now()
	for _, scrape := range []time.Duration{15 * time.Second, 30 * time.Second, time.Minute} {
		t.Run(scrape.String(), func(t *testing.T) {
			dir := t.TempDir()
			a := anchor.Truncate(scrape)
			om := filepath.Join(dir, "corpus.om")
			f, err := os.Create(om)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := WriteOpenMetrics(f, anchor, scrape, Scenarios()); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			gen := time.Since(start)
			st, _ := os.Stat(om)
			start = time.Now()
			data := filepath.Join(dir, "data")
			if err := Backfill("", om, data); err != nil {
				t.Fatal(err)
			}
			fill := time.Since(start)
			_ = os.Remove(om)
			start = time.Now()
			base, stop, err := StartPrometheus(data, scrape)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			t.Logf("scrape %v: file %.0f MB written in %v, promtool %v, prometheus ready in %v",
				scrape, float64(st.Size())/1e6, gen.Round(time.Millisecond), fill.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

			// The configured interval is visible to clients.
			resp, err := http.Get(base + "/api/v1/status/config")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := "scrape_interval: " + strings.TrimSuffix(strings.TrimSuffix(scrape.String(), "0s"), "m"); !strings.Contains(string(body), "scrape_interval") {
				t.Errorf("config %s lacks %s", body, want)
			}

			s, _ := Lookup("error-jump")
			finish := Finish(a, s)
			count := `http_server_request_duration_seconds_count{service_name="error-jump"}`
			errs := `http_server_request_duration_seconds_count{service_name="error-jump",http_response_status_code=~"5.."}`
			// Data ending at the anchor is queryable right away.
			for _, q := range []string{"sum(rate(" + count + "[4m]))", "sum(rate(" + count + "[4m] offset 1d))", "sum(rate(" + count + "[4m] offset 1w))"} {
				if got := promQuery(t, base, q, a.Add(-time.Minute)); !near(got, s.RPS, 0.15) {
					t.Errorf("%s at A-1m = %v, want ~%v", q, got, s.RPS)
				}
			}
			if got := promQuery(t, base, "sum(rate("+count+"[4m]))", finish.Add(-20*time.Minute)); !near(got, s.RPS, 0.15) {
				t.Errorf("throughput before the finish = %v", got)
			}
			w := "[" + strconv.Itoa(int(s.Window.Minutes())) + "m]"
			ratio := func(at time.Time, win, offset string) float64 {
				return promQuery(t, base, "sum(increase("+errs+win+offset+")) / sum(increase("+count+win+offset+"))", at)
			}
			if got := ratio(a, w, ""); !near(got, 0.08, 0.15) {
				t.Errorf("5xx ratio after the finish = %v, want ~0.08", got)
			}
			if got := ratio(finish, "[40m]", ""); !near(got, 0.005, 0.25) {
				t.Errorf("5xx ratio before the finish = %v, want ~0.005", got)
			}
			for _, off := range []string{" offset 1d", " offset 1w"} {
				if got := ratio(a, w, off); !near(got, 0.005, 0.25) {
					t.Errorf("5xx ratio in the window%s = %v, want ~0.005", off, got)
				}
			}
			// A scenario without logs has no log series; one with logs has them.
			if got := promQuery(t, base, `count(log_records_total{service_name="no-log-pipeline"})`, a.Add(-time.Minute)); !math.IsNaN(got) {
				t.Errorf("no-log-pipeline has %v log series", got)
			}
			if got := promQuery(t, base, `sum(rate(log_records_total{service_name="error-jump",severity="ERROR"}[4m]))`, a.Add(-time.Minute)); !(got > 0) {
				t.Errorf("error-jump error logs = %v", got)
			}
			checkFacts(t, base, anchor, scrape)
			fmt.Fprintf(os.Stderr, "changecorpus: scrape %v: %.0f MB, generated in %v, promtool %v\n", scrape, float64(st.Size())/1e6, gen.Round(time.Millisecond), fill.Round(time.Millisecond))
		})
	}
}
