"""Keys and certificates for the TLS contestants, made per run with psktool and certtool (Debian's gnutls-bin),
as the tests make theirs: never committed, removed with the run's directory."""
import os
import subprocess
from dataclasses import dataclass

USERNAME = "alice"


@dataclass
class Keys:
    psk_file: str        # psktool's username:key file (--tls-psk, tls-psk-file=)
    server_dir: str      # ca-cert.pem, server-cert.pem, server-key.pem (--tls-certificates)
    client_dir: str      # ca-cert.pem (tls-certificates=): the client checks the server, presents nothing

    def server_options(self, kind):
        credentials = f"--tls-psk={self.psk_file}" if kind == "PSK" else f"--tls-certificates={self.server_dir}"
        return ["--tls=require", credentials]

    def uri(self, kind, socket):
        if kind == "PSK":
            return f"nbds+unix://{USERNAME}@/?socket={socket}&tls-psk-file={self.psk_file}"
        return f"nbds+unix:///?socket={socket}&tls-certificates={self.client_dir}"


def make(directory):
    os.makedirs(directory)
    keys = Keys(os.path.join(directory, "keys.psk"), os.path.join(directory, "server"),
                os.path.join(directory, "client"))
    os.makedirs(keys.server_dir)
    os.makedirs(keys.client_dir)
    _tool(["psktool", "-u", USERNAME, "-p", keys.psk_file])
    ca_key, ca_cert = os.path.join(directory, "ca-key.pem"), os.path.join(keys.server_dir, "ca-cert.pem")
    _tool(["certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", ca_key])
    _tool(["certtool", "--generate-self-signed", "--load-privkey", ca_key, "--outfile", ca_cert,
           "--template", _template(directory, "ca", "cn = nbd-streaming benchmark CA\nca\ncert_signing_key\n")])
    server_key = os.path.join(keys.server_dir, "server-key.pem")
    _tool(["certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", server_key])
    _tool(["certtool", "--generate-certificate", "--load-ca-certificate", ca_cert, "--load-ca-privkey", ca_key,
           "--load-privkey", server_key, "--outfile", os.path.join(keys.server_dir, "server-cert.pem"),
           "--template", _template(directory, "server", "cn = localhost\ndns_name = localhost\ntls_www_server\n"
                                                        "encryption_key\nsigning_key\n")])
    with open(ca_cert, "rb") as source, open(os.path.join(keys.client_dir, "ca-cert.pem"), "wb") as copy:
        copy.write(source.read())
    return keys


def _template(directory, name, text):
    path = os.path.join(directory, f"{name}.info")
    with open(path, "w") as out:
        out.write(text + "expiration_days = 2\n")
    return path


def _tool(argv):
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
