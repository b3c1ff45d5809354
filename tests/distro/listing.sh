# A directory holding hard links, listed every way a program may: run with
# bash in a fresh directory DIR ($1), natively and under sproot -l; the two
# outputs must be the same.
set -e
mkdir "$1" && cd "$1"
echo one > a && ln a b && ln b c && echo two > d && mkdir sub && ln d sub/d2
ln -s a sym && touch e && ln e f && rm e
echo "ls -a:"; ls -a
echo "ls -a sub:"; ls -a sub
echo "find:"; find . | sort
echo "find -type f:"; find . -type f | sort
echo "find -type l:"; find . -type l | sort
echo "find -links 3:"; find . -links 3 | sort
echo "find -samefile a:"; find . -samefile a | sort
echo "stat:"; stat -c '%n %h %F' a b c d sub/d2 f sym
echo "ls -li groups:"; ls -i a b c | awk '{print $1}' | uniq | wc -l
echo "readdir:"; /usr/local/bin/sproot-readdir . | sort
mv b b2 && rm c && echo "after mv and rm:" && ls -a && stat -c '%n %h' a b2
echo "python scandir:"
python3 -c 'import os; print(sorted((e.name, e.is_file(follow_symlinks=False), e.is_symlink(), e.inode() == os.lstat(e.name).st_ino) for e in os.scandir(".")))'
