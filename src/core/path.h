/* path.h: small string and path helpers (no file system access). */
#ifndef PIFI_CORE_PATH_H
#define PIFI_CORE_PATH_H

/* 1 if s ends with suffix. */
int pifi_has_suffix(const char *s, const char *suffix);
/* The directory part of path (POSIX dirname: "." for a bare name, "/" for
 * "/x") as a new heap string the caller frees; NULL when out of memory. */
char *pifi_dir_of(const char *path);
/* The part after the last '/', inside path itself. */
const char *pifi_base_of(const char *path);

#endif
