package pipeline

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tfrun/tfrun/pipeline/augment"
)

// courseAugment is a typical training set-up for the sea-ice U-Net.
var courseAugment = augment.Config{HFlip: true, VFlip: true, Rotation: 20, Zoom: augment.Range{0.9, 1.1}, Fill: "reflect"}

// repeatFolder makes root/image and root/label holding every sea-ice pair
// times times over, as symbolic links.
func repeatFolder(t testing.TB, times int) string {
	t.Helper()
	src, err := filepath.Abs(seaIce(t))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, sub := range []string{"image", "label"} {
		entries, err := os.ReadDir(filepath.Join(src, sub))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(root, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		for r := range times {
			for _, e := range entries {
				name := fmt.Sprintf("%s_%02d%s", stem(e.Name()), r, filepath.Ext(e.Name()))
				if err := os.Symlink(filepath.Join(src, sub, e.Name()), filepath.Join(root, sub, name)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return root
}

type peaks struct {
	heap, rss uint64 // bytes
	images    int
	took      time.Duration
}

// streamEpoch opens root and streams one shuffled, augmented training epoch
// at 128², as the trainer would, sampling the heap as it goes.
func streamEpoch(t *testing.T, root string) peaks {
	runtime.GC()
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
	rssReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var p peaks
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			p.heap = max(p.heap, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	start := time.Now()
	sets, err := OpenFolders(FolderConfig{Root: root, Decode: Decode{Size: []int{128, 128}, Scale: 255},
		Options: Options{Augment: courseAugment, Seed: 1, Workers: 2, Prefetch: 2}})
	if err != nil {
		t.Fatal(err)
	}
	order := rand.New(rand.NewPCG(1, 2)).Perm(sets.Train.Len())
	for b, err := range sets.Train.Batches(0, order, 8) {
		if err != nil {
			t.Fatal(err)
		}
		p.images += b.N
	}
	p.took = time.Since(start)
	close(stop)
	wg.Wait()
	if rssReset {
		p.rss = vmHWM(t)
	}
	return p
}

// cpuTime is the CPU time this process has used, all threads together.
func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmHWM is the process's peak resident set since the last reset.
func vmHWM(t *testing.T) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// Memory does not grow with the dataset: one epoch over the sea-ice folder
// and over a folder ten times larger peak at about the same heap and RSS.
func TestMemoryFlat(t *testing.T) {
	if os.Getenv("TFRUN_LONG") != "1" {
		t.Skip("set TFRUN_LONG=1 to stream the sea-ice folder at 1× and 10× (5500 pairs, a minute on 2 cores)")
	}
	one, ten := repeatFolder(t, 1), repeatFolder(t, 10)
	p1 := streamEpoch(t, one)
	p10 := streamEpoch(t, ten)
	for _, r := range []struct {
		name string
		p    peaks
	}{{"1×", p1}, {"10×", p10}} {
		t.Logf("%s: %d images in %.1fs (%.0f/s), peak heap in use %.1f MiB, peak RSS %.1f MiB",
			r.name, r.p.images, r.p.took.Seconds(), float64(r.p.images)/r.p.took.Seconds(), float64(r.p.heap)/(1<<20), float64(r.p.rss)/(1<<20))
	}
	if p1.images != 500 || p10.images != 5000 {
		t.Fatalf("streamed %d and %d images", p1.images, p10.images)
	}
	if float64(p10.heap) > 1.5*float64(p1.heap) {
		t.Errorf("peak heap %d at 10× against %d at 1×: grows with the dataset", p10.heap, p1.heap)
	}
	if p1.rss > 0 && float64(p10.rss) > 1.5*float64(p1.rss) {
		t.Errorf("peak RSS %d at 10× against %d at 1×: grows with the dataset", p10.rss, p1.rss)
	}
}

// BenchmarkStream measures images decoded, resized and augmented per second
// by two workers, as the trainer would consume them, and the CPU time each
// costs, which a shared machine's load does not inflate.
func BenchmarkStream(b *testing.B) {
	pairs := seaIcePairs(b, 64)
	for _, size := range []int{256, 128} {
		b.Run(fmt.Sprintf("%d", size), func(b *testing.B) {
			f := newFilesT(b, pairs, Decode{Size: []int{size, size}, Scale: 255}, Options{Augment: courseAugment, Seed: 1, Workers: 2, Prefetch: 2})
			order := make([]int, b.N)
			for i := range order {
				order[i] = i % len(pairs)
			}
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for _, err := range f.Batches(0, order, 8) {
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric((cpuTime(b)-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/image")
		})
	}
}
