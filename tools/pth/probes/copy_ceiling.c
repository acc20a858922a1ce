/* How fast can any loader get a file's bytes out of the page cache on this machine?
 * Times pread() of the whole file into a touched buffer (1 and 2 threads) and mmap + memcpy (1 and 2 threads).
 * This is the ceiling for torch.load and for the C# reader alike: both must copy every byte once.
 *   gcc -O2 -pthread tools/pth/probes/copy_ceiling.c -o /tmp/copy_ceiling && /tmp/copy_ceiling artifacts/pth-bench/model.pth
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static size_t n; static char *dst, *map; static int fd, threads;

static void *by_pread(void *arg) {
    long id = (long)arg; size_t per = n / threads, s = id * per, e = id == threads - 1 ? n : s + per;
    for (size_t o = s; o < e; o += 1 << 20) if (pread(fd, dst + o, e - o < (1 << 20) ? e - o : (1 << 20), o) < 0) abort();
    return NULL;
}

static void *by_memcpy(void *arg) {
    long id = (long)arg; size_t per = n / threads, s = id * per, e = id == threads - 1 ? n : s + per;
    memcpy(dst + s, map + s, e - s);
    return NULL;
}

static double run(void *(*f)(void *), int use_map) {
    double best = 1e9;
    for (int r = 0; r < 8; r++) {
        double t = now();
        if (use_map) map = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
        pthread_t th[8];
        for (long i = 0; i < threads; i++) pthread_create(&th[i], NULL, f, (void *)i);
        for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
        if (use_map) munmap(map, n);
        t = now() - t; if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
    fd = open(argv[1], O_RDONLY); if (fd < 0) { perror(argv[1]); return 1; }
    n = lseek(fd, 0, SEEK_END);
    dst = malloc(n); memset(dst, 1, n); /* touched: no page faults in the timed copies */
    for (size_t o = 0; o < n; o += 1 << 20) if (pread(fd, dst, (1 << 20), o) < 0) return 1; /* file into the page cache */
    printf("file %.1f MB, best of 8\n", n / 1e6);
    for (threads = 1; threads <= 2; threads++) {
        double a = run(by_pread, 0), b = run(by_memcpy, 1);
        printf("%d thread(s): pread %.4f s (%.2f GB/s)   mmap+memcpy %.4f s (%.2f GB/s)\n", threads, a, n / a / 1e9, b, n / b / 1e9);
    }
    return 0;
}
