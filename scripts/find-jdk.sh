# Sourced by the llmnpu scripts: sets JAVA_HOME to a JDK 25 or newer, or explains what to install.
# Order: $JAVA_HOME if it is 25+, then the newest 25+ JDK in the usual install folders.

llmnpu_java_major() {
    # Prints the feature version of the JDK at $1 (e.g. 25), or nothing.
    local release="$1/release"
    [ -x "$1/bin/java" ] || return 0
    if [ -f "$release" ]; then
        sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release"
    else
        "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
    fi
}

llmnpu_find_jdk() {
    local v
    if [ -n "${JAVA_HOME:-}" ]; then
        v=$(llmnpu_java_major "$JAVA_HOME")
        if [ -n "$v" ] && [ "$v" -ge 25 ]; then
            return 0
        fi
    fi
    local best="" best_v=0 dir
    for dir in /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/java/* /usr/java/* \
               "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* \
               /Library/Java/JavaVirtualMachines/*/Contents/Home; do
        [ -d "$dir" ] || continue
        v=$(llmnpu_java_major "$dir")
        if [ -n "$v" ] && [ "$v" -ge 25 ] && [ "$v" -gt "$best_v" ]; then
            best="$dir"
            best_v="$v"
        fi
    done
    if [ -z "$best" ]; then
        cat >&2 <<'MSG'
llmnpu needs a JDK 25 or newer (for the Vector API and FFM) and found none.
Install one, for example Eclipse Temurin 25 (https://adoptium.net, Debian/Ubuntu package
temurin-25-jdk from the Adoptium apt repository), then either set JAVA_HOME to it or install it
under /usr/lib/jvm.
MSG
        return 1
    fi
    export JAVA_HOME="$best"
}

llmnpu_find_jdk || exit 1
export PATH="$JAVA_HOME/bin:$PATH"
# Maven itself runs on this JDK; this silences its sun.misc.Unsafe warnings there.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
