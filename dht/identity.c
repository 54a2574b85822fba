/* identity.c - the node key pair in <data_dir>/node.key. */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meshgate/common.h"

#define IDENTITY_FILE "node.key"

uint64_t dht_identity_node_id(const uint8_t public_key[crypto_sign_PUBLICKEYBYTES])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), public_key, crypto_sign_PUBLICKEYBYTES, NULL, 0);
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id = id << 8 | h[i];
    return id;
}

static int read_full(int fd, void *p, size_t len)
{
    unsigned char *q = p;
    while (len) {
        ssize_t n = read(fd, q, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return MG_EIO;
        q += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t len)
{
    const unsigned char *q = p;
    while (len) {
        ssize_t n = write(fd, q, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return MG_EIO;
        q += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads an existing key file into id->secret_key. Returns MG_ENOTFOUND when
 * there is none. */
static int identity_read(const char *path, struct dht_identity *id)
{
    int rc = MG_EIO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return MG_ENOTFOUND;
        log_err("cannot open node key path=%s err=%s", path, strerror(errno));
        return MG_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) || st.st_size != crypto_sign_SECRETKEYBYTES) {
        log_err("node key has the wrong size path=%s", path);
        rc = MG_EINVAL;
        goto out;
    }
    if ((st.st_mode & 077) != 0)
        log_warn("node key is readable by others path=%s mode=%o", path,
                 (unsigned)(st.st_mode & 0777));
    rc = read_full(fd, id->secret_key, crypto_sign_SECRETKEYBYTES);
    if (rc)
        log_err("cannot read node key path=%s", path);
out:
    close(fd);
    return rc;
}

/* Writes a fresh key pair to a temporary file and links it into place, so a
 * concurrent first start in another process cannot leave a torn file, and
 * whichever process links first wins (the loser then reads the winner's key). */
static int identity_create(const char *dir, const char *path, struct dht_identity *id)
{
    int rc = MG_EIO;
    struct buf tmp;
    buf_init(&tmp);
    if (buf_printf(&tmp, "%s/.%s.%ld.tmp", dir, IDENTITY_FILE, (long)getpid())) {
        rc = MG_ENOMEM;
        goto out;
    }
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_keypair(pk, id->secret_key);

    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_err("cannot create node key path=%s err=%s", tmp.data, strerror(errno));
        goto out;
    }
    rc = write_full(fd, id->secret_key, crypto_sign_SECRETKEYBYTES);
    if (!rc && fsync(fd))
        rc = MG_EIO;
    close(fd);
    if (rc) {
        log_err("cannot write node key path=%s", tmp.data);
        goto out_unlink;
    }
    if (link(tmp.data, path)) {
        if (errno == EEXIST) {
            rc = identity_read(path, id);
        } else {
            log_err("cannot install node key path=%s err=%s", path, strerror(errno));
            rc = MG_EIO;
        }
        goto out_unlink;
    }
    log_info("created node key path=%s", path);
out_unlink:
    unlink(tmp.data);
out:
    buf_release(&tmp);
    return rc;
}

int dht_identity_load(const char *dir, struct dht_identity *id)
{
    int rc;
    struct buf path;
    buf_init(&path);
    memset(id, 0, sizeof(*id));
    id->secret_key = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (!id->secret_key || buf_printf(&path, "%s/%s", dir, IDENTITY_FILE)) {
        rc = MG_ENOMEM;
        goto out;
    }
    rc = identity_read(path.data, id);
    if (rc == MG_ENOTFOUND)
        rc = identity_create(dir, path.data, id);
    if (rc)
        goto out;
    /* The libsodium secret key embeds the public key in its second half. */
    crypto_sign_ed25519_sk_to_pk(id->public_key, id->secret_key);
    sodium_mprotect_readonly(id->secret_key);
    id->node_id = dht_identity_node_id(id->public_key);
out:
    buf_release(&path);
    if (rc)
        dht_identity_release(id);
    return rc;
}

void dht_identity_release(struct dht_identity *id)
{
    if (!id)
        return;
    /* sodium_free wipes the memory before unmapping it. */
    sodium_free(id->secret_key);
    id->secret_key = NULL;
}
