"""The network worker's host side: one network host's bridges, DHCP and firewall
made to match a plan (nova-network's Linux bridge, dnsmasq and iptables roles)."""
