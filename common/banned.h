/*
 * banned: functions that make overflows easy; using one is a compile error.
 * Included last by every .c file of sensorpipe (after system headers).
 */
#ifndef SENSORPIPE_BANNED_H
#define SENSORPIPE_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_sensorpipe

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)

#endif
