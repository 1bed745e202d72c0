# Test helper: runs a command on a pseudo-terminal (as a user at a terminal would), answers its
# first "[Y/n]" prompt with argv[1], prints everything it wrote and exits with its exit code.
import os, pty, sys, select, time
# argv: answer, then the command. Runs it on a pseudo-terminal, answers the prompt, prints all output.
answer = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b''
answered = False
deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if fd in r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not answered and b'[Y/n]' in out:
            os.write(fd, answer + b'\r')
            answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
