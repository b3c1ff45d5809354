/* Prints its argv[0] and the first line of /etc/debian_version as the
 * process sees them: built dynamic PIE, non-PIE, static and static-PIE. */
#include <stdio.h>
int main(int argc, char **argv) {
    char line[64] = "";
    FILE *f = fopen("/etc/debian_version", "r");
    if (!f || !fgets(line, sizeof line, f)) return 3;
    printf("%s %d %s", argv[0], argc, line);
    return 0;
}
