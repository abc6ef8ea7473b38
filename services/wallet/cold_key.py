"""``python -m services.wallet.cold_key``: print a fresh cold-wallet key pair.

For the operator to keep offline (on paper, in a hardware wallet): the platform is
only ever given the address (``WALLET_COLD_ADDRESS``), never the private key, so a
breach of the platform cannot move what the cold wallet holds. Nothing is stored and
nothing is logged; the pair goes to standard output only.
"""

from __future__ import annotations

import sys

from ..common.chain import keys


def main() -> None:
    pair = keys.generate_key()
    sys.stdout.write(
        "A new cold wallet. Keep the private key offline; give the platform the address only.\n"
        f"WALLET_COLD_ADDRESS={pair.address}\n"
        f"public key:  {pair.public_key}\n"
        f"private key: {pair.private_key}\n"
    )


if __name__ == "__main__":
    main()
