# Test helper: runs a command on a pseudo-terminal and follows a script of steps (argv[1], JSON):
#   {"expect": "text"}   wait (up to 60 s) until the output since the last expect contains text
#   {"run": ["cmd", …]}  run a command (e.g. change a file the program watches)
#   {"send": "q"}        type into the terminal
# Prints everything the program wrote; exits with its exit code (3 if an expect timed out).
import fcntl, json, os, pty, select, struct, subprocess, sys, termios, time

steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
# A terminal of 40 rows × 140 columns (a fresh pty reports 0 × 0).
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 140, 0, 0))
out = b''
mark = 0

def pump(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if fd in r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        out += chunk
    return True

for step in steps:
    if 'expect' in step:
        want = step['expect'].encode()
        deadline = time.time() + 60
        while want not in out[mark:] and time.time() < deadline:
            if not pump(0.2):
                break
        if want not in out[mark:]:
            sys.stdout.write(out.decode('utf8', 'replace'))
            sys.stdout.write(f'\n<pty_script: timed out waiting for {step["expect"]!r}>\n')
            os.kill(pid, 9)
            sys.exit(3)
        mark = out.index(want, mark) + len(want)
    elif 'run' in step:
        subprocess.run(step['run'], check=True)
    elif 'send' in step:
        os.write(fd, step['send'].encode())
deadline = time.time() + 30
while time.time() < deadline and pump(0.2):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
