#!/usr/bin/env python3
"""The emulated AWS of the controller suite (moto on 127.0.0.1), through boto3.

  aws.py seed ENDPOINT CLUSTER OUT.json   VPC, IGW + route, 2 tagged subnets,
                                          worker SG, 2 instances; IDs -> OUT
  aws.py state DIR                        JSON: ALBs (listeners, rules, certs,
                                          tags), target groups (targets,
                                          health check), the VPC's SGs
  aws.py import-cert DIR CERT KEY         import into ACM, print the ARN
  aws.py assign-ips DIR INSTANCE N        N secondary IPs on the instance's
                                          primary ENI (how aws-vpc-cni gives
                                          pods VPC addresses); prints them
  aws.py elb-tag DIR add|remove           kubernetes.io/role/elb on both subnets;
                                          prints the tag keys left on them
  aws.py igw-route DIR add|remove         the route table's 0.0.0.0/0 route to the IGW
  aws.py sg DIR create NAME [CLUSTER]     a security group in the VPC (Name tag, and
                                          kubernetes.io/cluster/CLUSTER=owned when
                                          given); prints its ID
  aws.py sg DIR delete ID
  aws.py eni-sgs DIR SG[,SG...]           the security groups of both workers' ENIs
  aws.py sg-rule DIR add|remove SG PROTO FROM TO SOURCE_SG
  aws.py metadata DIR HOP_LIMIT TOKENS    both workers' metadata options
  aws.py instances DIR stop|start [N]     stop or start the workers (the first N)
  aws.py serve                            one JSON array [command, DIR, args...]
                                          per stdin line, one JSON line back
                                          ({"out": text} or {"error": text}):
                                          boto3 is imported once, not per poll

DIR is a `scripts/lbc-harness up` directory (its aws.json has the endpoint).
Credentials are moto's dummies; the endpoint is always set, so no call can
reach real AWS.
"""
import functools
import json
import sys

import boto3
import botocore.exceptions

REGION = "eu-west-1"
# moto does not validate AMIs; looking one up costs seconds per run.
AMI = "ami-0123456789abcdef0"


@functools.cache  # one client per service: building one costs ~0.1 s
def client(service, endpoint, region=REGION):
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def load(d):
    with open(f"{d}/aws.json") as f:
        return json.load(f)


def seed(endpoint, cluster, out):
    ec2 = client("ec2", endpoint)
    owned = {"Key": f"kubernetes.io/cluster/{cluster}", "Value": "owned"}
    tags = lambda kind, name, *more: [{"ResourceType": kind, "Tags": [owned, {"Key": "Name", "Value": name}, *more]}]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tags("vpc", f"{cluster}-vpc"))["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    zones = [z for z in ec2.describe_availability_zones()["AvailabilityZones"] if z["ZoneType"] == "availability-zone"][:2]
    subnets = []
    for i, z in enumerate(zones):
        s = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=z["ZoneName"],
                              TagSpecifications=tags("subnet", f"{cluster}-public-{z['ZoneName']}",
                                                     {"Key": "kubernetes.io/role/elb", "Value": "1"}))["Subnet"]
        ec2.associate_route_table(RouteTableId=rtb, SubnetId=s["SubnetId"])
        subnets.append({"id": s["SubnetId"], "az": z["ZoneName"], "cidr": s["CidrBlock"]})
    sg = ec2.create_security_group(GroupName=f"{cluster}-workers", Description="netpath workers", VpcId=vpc,
                                   TagSpecifications=tags("security-group", f"{cluster}-workers"))["GroupId"]
    instances = []
    for i, s in enumerate(subnets):
        inst = ec2.run_instances(ImageId=AMI, InstanceType="t3.medium", MinCount=1, MaxCount=1,
                                 SubnetId=s["id"], SecurityGroupIds=[sg],
                                 TagSpecifications=tags("instance", f"worker-{i}"))["Instances"][0]
        instances.append({"id": inst["InstanceId"], "az": s["az"], "subnet": s["id"],
                          "privateIp": inst["PrivateIpAddress"], "privateDns": inst["PrivateDnsName"],
                          "eni": inst["NetworkInterfaces"][0]["NetworkInterfaceId"]})
    state = {"endpoint": endpoint, "region": REGION, "cluster": cluster, "vpc": vpc, "igw": igw,
             "routeTable": rtb, "subnets": subnets, "workerSG": sg, "instances": instances}
    with open(out, "w") as f:
        json.dump(state, f, indent=2)
        f.write("\n")


def tag_map(tags):
    return {t["Key"]: t["Value"] for t in tags or []}


def state(d):
    # The LBC may delete what was just listed: read again, as a poller would.
    for attempt in range(5):
        try:
            return read_state(d)
        except botocore.exceptions.ClientError as e:
            if attempt == 4 or not e.response["Error"]["Code"].endswith("NotFound"):
                raise


def read_state(d):
    seed_ = load(d)
    elb = client("elbv2", seed_["endpoint"])
    ec2 = client("ec2", seed_["endpoint"])
    out = {"loadBalancers": [], "targetGroups": [], "securityGroups": []}
    for lb in elb.describe_load_balancers()["LoadBalancers"]:
        arn = lb["LoadBalancerArn"]
        listeners = []
        for li in elb.describe_listeners(LoadBalancerArn=arn)["Listeners"]:
            certs = elb.describe_listener_certificates(ListenerArn=li["ListenerArn"])["Certificates"]
            rules = elb.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]
            listeners.append({"port": li["Port"], "protocol": li["Protocol"], "defaultActions": li["DefaultActions"],
                              "certificates": sorted({c["CertificateArn"] for c in certs}),
                              "rules": [{"priority": r["Priority"], "conditions": r["Conditions"], "actions": r["Actions"]}
                                        for r in rules]})
        out["loadBalancers"].append({
            "arn": arn, "name": lb["LoadBalancerName"], "dns": lb["DNSName"], "scheme": lb["Scheme"],
            "type": lb["Type"], "subnets": sorted(z["SubnetId"] for z in lb["AvailabilityZones"]),
            "securityGroups": sorted(lb.get("SecurityGroups", [])), "listeners": listeners,
            "tags": tag_map(elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"])})
    for tg in elb.describe_target_groups()["TargetGroups"]:
        arn = tg["TargetGroupArn"]
        health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        out["targetGroups"].append({
            "arn": arn, "name": tg["TargetGroupName"], "targetType": tg["TargetType"], "protocol": tg["Protocol"],
            "port": tg["Port"], "healthCheckPath": tg.get("HealthCheckPath"), "healthCheckPort": tg.get("HealthCheckPort"),
            "loadBalancers": tg.get("LoadBalancerArns", []),
            "targets": sorted(f'{t["Target"]["Id"]}:{t["Target"].get("Port")}' for t in health),
            "tags": tag_map(elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"])})
    for sg in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [seed_["vpc"]]}])["SecurityGroups"]:
        out["securityGroups"].append({
            "id": sg["GroupId"], "name": sg["GroupName"], "tags": tag_map(sg.get("Tags")),
            "ingress": sorted(({"proto": r["IpProtocol"], "from": r.get("FromPort"), "to": r.get("ToPort"),
                                "cidrs": sorted(x["CidrIp"] for x in r.get("IpRanges", [])),
                                "groups": sorted(x["GroupId"] for x in r.get("UserIdGroupPairs", []))}
                               for r in sg["IpPermissions"]), key=json.dumps)})
    return json.dumps(out, default=str)


def import_cert(d, cert, key):
    acm = client("acm", load(d)["endpoint"])
    with open(cert, "rb") as c, open(key, "rb") as k:
        return acm.import_certificate(Certificate=c.read(), PrivateKey=k.read())["CertificateArn"]


def assign_ips(d, instance, n):
    s = load(d)
    eni = next(i["eni"] for i in s["instances"] if i["id"] == instance)
    ec2 = client("ec2", s["endpoint"])
    ips = lambda: {a["PrivateIpAddress"] for a in ec2.describe_network_interfaces(
        NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["PrivateIpAddresses"]}
    # moto's answer lists the primary address too: print only the new ones.
    before = ips()
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni, SecondaryPrivateIpAddressCount=int(n))
    return " ".join(sorted(ips() - before))


def elb_tag(d, op):
    s = load(d)
    ec2 = client("ec2", s["endpoint"])
    ids = [x["id"] for x in s["subnets"]]
    if op == "add":
        ec2.create_tags(Resources=ids, Tags=[{"Key": "kubernetes.io/role/elb", "Value": "1"}])
    else:
        ec2.delete_tags(Resources=ids, Tags=[{"Key": "kubernetes.io/role/elb"}])
    return json.dumps(sorted({t["Key"] for x in ec2.describe_subnets(SubnetIds=ids)["Subnets"] for t in x.get("Tags", [])}))


def igw_route(d, op):
    s = load(d)
    ec2 = client("ec2", s["endpoint"])
    if op == "add":
        ec2.create_route(RouteTableId=s["routeTable"], DestinationCidrBlock="0.0.0.0/0", GatewayId=s["igw"])
    else:
        ec2.delete_route(RouteTableId=s["routeTable"], DestinationCidrBlock="0.0.0.0/0")


def sg(d, op, arg, cluster=None):
    s = load(d)
    ec2 = client("ec2", s["endpoint"])
    if op == "delete":
        ec2.delete_security_group(GroupId=arg)
        return None
    tags = [{"Key": "Name", "Value": arg}]
    if cluster:
        tags.append({"Key": f"kubernetes.io/cluster/{cluster}", "Value": "owned"})
    return ec2.create_security_group(GroupName=arg, Description="netpath test", VpcId=s["vpc"],
                                     TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}])["GroupId"]


def eni_sgs(d, groups):
    s = load(d)
    ec2 = client("ec2", s["endpoint"])
    for i in s["instances"]:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=i["eni"], Groups=groups.split(","))


def sg_rule(d, op, group, proto, lo, hi, source):
    ec2 = client("ec2", load(d)["endpoint"])
    perm = [{"IpProtocol": proto, "FromPort": int(lo), "ToPort": int(hi), "UserIdGroupPairs": [{"GroupId": source}]}]
    if op == "add":
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=perm)
    else:
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=perm)


def metadata(d, hop_limit, tokens):
    s = load(d)
    ec2 = client("ec2", s["endpoint"])
    for i in s["instances"]:
        ec2.modify_instance_metadata_options(InstanceId=i["id"], HttpPutResponseHopLimit=int(hop_limit),
                                             HttpTokens=tokens, HttpEndpoint="enabled")


def instances(d, op, n=None):
    s = load(d)
    ec2 = client("ec2", s["endpoint"])
    ids = [i["id"] for i in s["instances"]][: int(n) if n else None]
    if op == "stop":
        ec2.stop_instances(InstanceIds=ids)
    else:
        ec2.start_instances(InstanceIds=ids)
    return " ".join(ids)


COMMANDS = {"instances": instances, "igw-route": igw_route, "sg": sg, "eni-sgs": eni_sgs, "sg-rule": sg_rule, "metadata": metadata,
            "elb-tag": elb_tag, "seed": seed, "state": state, "import-cert": import_cert, "assign-ips": assign_ips}


def serve():
    for line in sys.stdin:
        cmd, *args = json.loads(line)
        try:
            reply = {"out": COMMANDS[cmd](*args) or ""}
        except Exception as e:  # the caller's test fails with this text
            reply = {"error": f"{cmd}: {type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "serve":
        serve()
    elif len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    else:
        out = COMMANDS[sys.argv[1]](*sys.argv[2:])
        if out:
            print(out)
