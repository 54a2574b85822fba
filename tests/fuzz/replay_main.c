/* replay_main.c - runs a libFuzzer target over files given on the command
 * line (a seed corpus), so the normal test suite replays every fuzz target
 * without clang. Built with -fsanitize=fuzzer instead, the target's own
 * libFuzzer main is used and this file is left out. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *p = realloc(data, cap * 2);
            if (!p) {
                free(data);
                data = NULL;
                break;
            }
            data = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (!data)
        return 1;
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            while (dir && (e = readdir(dir)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                failed += replay_file(path);
                files++;
            }
            if (dir)
                closedir(dir);
        } else {
            failed += replay_file(argv[i]);
            files++;
        }
    }
    /* Also a few generated inputs, so an empty corpus still exercises the target. */
    uint8_t gen[256];
    for (size_t len = 0; len < sizeof(gen); len += 17) {
        for (size_t k = 0; k < len; k++)
            gen[k] = (uint8_t)(k * 31 + len);
        LLVMFuzzerTestOneInput(gen, len);
    }
    printf("replayed %d corpus files, %d unreadable\n", files, failed);
    return failed ? 1 : 0;
}
