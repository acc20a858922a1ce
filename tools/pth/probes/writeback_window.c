/* Which way of writing a checkpoint-sized file with fsync is fastest on this disk?
 * Each round writes the same random bytes as a new file in 1 MiB writes, fsyncs it, renames it over the
 * previous copy and fsyncs the folder (what AtomicFile does), with or without sync_file_range(WRITE) per
 * window, next to dd conv=fsync; five runs per variant, three rounds, means. Run it in a scratch folder:
 *   gcc -O2 tools/pth/probes/writeback_window.c -o /tmp/wbw && (cd artifacts && /tmp/wbw)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static const size_t N = 128771394; /* the benchmark state dict's size */
static char *src;

/* window 0: plain write then fsync; wait: also wait for the window before the last (bounded dirty memory) */
static double atomic_write(size_t window, int wait) {
    double t = now();
    int fd = open("wbw.tmp", O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) { perror("wbw.tmp"); exit(1); }
    size_t started = 0;
    for (size_t o = 0; o < N; o += 1 << 20) {
        size_t len = N - o < (1 << 20) ? N - o : (1 << 20);
        if (write(fd, src + o, len) != (ssize_t)len) { perror("write"); exit(1); }
        if (window && o + len - started >= window) {
            sync_file_range(fd, started, o + len - started, SYNC_FILE_RANGE_WRITE);
            if (wait && started >= window)
                sync_file_range(fd, started - window, window, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
            started = o + len;
        }
    }
    fsync(fd); close(fd);
    rename("wbw.tmp", "wbw.bin");
    int dir = open(".", O_RDONLY); fsync(dir); close(dir);
    return now() - t;
}

static double dd(void) {
    double t = now();
    if (system("dd if=/dev/zero of=wbw_dd.bin bs=1M count=122 conv=fsync 2>/dev/null") != 0) exit(1);
    return (now() - t) * N / (122.0 * 1048576);
}

int main(void) {
    src = malloc(N);
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(src, 1, N, f) != N) return 1;
    fclose(f);
    const char *names[] = { "dd conv=fsync (incl. process start)", "plain write + fsync", "window 4 MiB", "window 8 MiB",
                            "window 32 MiB", "window 8 MiB + wait for older" };
    for (int round = 0; round < 3; round++) {
        double sum[6] = { 0 };
        for (int r = 0; r < 5; r++) {
            sum[0] += dd(); sum[1] += atomic_write(0, 0); sum[2] += atomic_write(4 << 20, 0);
            sum[3] += atomic_write(8 << 20, 0); sum[4] += atomic_write(32 << 20, 0); sum[5] += atomic_write(8 << 20, 1);
        }
        for (int i = 0; i < 6; i++) printf("%-38s mean %.4f s  %.2f GB/s\n", names[i], sum[i] / 5, N / (sum[i] / 5) / 1e9);
        puts("");
    }
    unlink("wbw.bin"); unlink("wbw_dd.bin");
    return 0;
}
