// The capability model's constants and pure functions: ABI numbers, rights algebra, the rights
// and size tables, well-formedness and object identity.
#include "test_caps_support.hpp"

using namespace caps_test;

TEST_CASE("object types and rights keep their ABI numbers", "[caps]") {
    CHECK(static_cast<int>(ObjectType::DmaStream) == 10);
    CHECK(static_cast<int>(ObjectType::AuditLog) == 11);
    CHECK(kObjectTypeCount == 12);
    CHECK(object_type_valid(11));
    CHECK_FALSE(object_type_valid(12));
    CHECK(Rights::kControl == 0x10);
    CHECK(sizeof(Capability) == 32);
    CHECK(sizeof(CapSlot) == 64);
}

TEST_CASE("rights only combine and shrink", "[caps][T-45]") {
    const Rights rw = Rights::read() | Rights::write();
    CHECK(rw.has(Rights::read()));
    CHECK_FALSE(rw.has(Rights::grant()));
    CHECK(rw.has(Rights::none()));
    CHECK((rw & Rights::write()) == Rights::write());
    CHECK(subset(Rights::write(), rw));
    CHECK_FALSE(subset(rw | Rights::execute(), rw));
    CHECK(Rights::from_bits(0xE0).empty());  // unknown bits never become rights
    CHECK(Rights::from_bits(Rights::kGrant | 0x80) == Rights::grant());
    CHECK(Rights::control().bits() == Rights::kControl);
    CHECK_FALSE(rw.empty());
}

TEST_CASE("full rights per type: nothing meaningless, untyped never derivable", "[caps][T-45][T-47]") {
    const Rights r = Rights::read(), w = Rights::write(), x = Rights::execute(), g = Rights::grant(),
                 c = Rights::control();
    CHECK(full_rights(ObjectType::Null) == Rights::none());
    CHECK(full_rights(ObjectType::Untyped) == w);
    CHECK(full_rights(ObjectType::CNode) == (r | w | g));
    CHECK(full_rights(ObjectType::Partition) == (c | w | g));
    CHECK(full_rights(ObjectType::Vcpu) == (c | g));
    CHECK(full_rights(ObjectType::Frame) == (r | w | x | g));
    CHECK(full_rights(ObjectType::DeviceMmio) == (r | w | g));
    CHECK(full_rights(ObjectType::IrqHandler) == (c | g));
    CHECK(full_rights(ObjectType::Notification) == (r | w | g));
    CHECK(full_rights(ObjectType::Channel) == (r | w | g));
    CHECK(full_rights(ObjectType::DmaStream) == (c | g));
    CHECK(full_rights(static_cast<ObjectType>(200)) == Rights::none());
}

TEST_CASE("object sizes per type", "[caps]") {
    CHECK(object_bits(ObjectType::CNode, 1) == 12);
    CHECK(object_bits(ObjectType::CNode, 12) == 18);
    CHECK(object_bits(ObjectType::Frame, 21) == 21);
    CHECK(object_bits(ObjectType::IrqHandler, 0) == 0);
    CHECK(object_bits(ObjectType::Null, 0) == 0);
    CHECK(object_bits(static_cast<ObjectType>(99), 12) == 0);
    CHECK(cap_size_bits_valid(ObjectType::Untyped, 12));
    CHECK(cap_size_bits_valid(ObjectType::Untyped, 48));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::Untyped, 11));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::Untyped, 49));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::CNode, 0));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::CNode, 13));
    CHECK(cap_size_bits_valid(ObjectType::Partition, 14));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::Partition, 21));
    CHECK(cap_size_bits_valid(ObjectType::Vcpu, kVcpuBits));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::Vcpu, 0));
    CHECK(cap_size_bits_valid(ObjectType::DeviceMmio, 21));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::Frame, 13));
    CHECK(cap_size_bits_valid(ObjectType::Notification, kNotificationBits));
    CHECK(cap_size_bits_valid(ObjectType::Channel, 21));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::Channel, 22));
    CHECK(cap_size_bits_valid(ObjectType::IrqHandler, 0));
    CHECK_FALSE(cap_size_bits_valid(ObjectType::DmaStream, 1));
    CHECK_FALSE(cap_size_bits_valid(static_cast<ObjectType>(77), 0));
    CHECK(make_cap(ObjectType::IrqHandler, 33, 0, Rights::none()).object_size() == 0);
    CHECK(make_cap(ObjectType::Frame, 0, 21, Rights::none()).object_size() == (2u << 20));
}

TEST_CASE("well-formedness of capabilities", "[caps][INV-4]") {
    const u64 base = 0x4800'0000;
    Capability frame = make_cap(ObjectType::Frame, base, 12, full_rights(ObjectType::Frame));
    CHECK(well_formed(frame));
    CHECK(well_formed(Capability{}));

    Capability c = frame;
    c.type = static_cast<ObjectType>(11);
    CHECK_FALSE(well_formed(c));
    c = Capability{};
    c.badge = 1;
    CHECK_FALSE(well_formed(c));  // a Null cap is all zero
    c = frame;
    c.rights = c.rights | Rights::control();
    CHECK_FALSE(well_formed(c));
    c = frame;
    c.size_bits = 13;
    CHECK_FALSE(well_formed(c));
    c = frame;
    c.flags = Capability::kFlagDevice;
    CHECK_FALSE(well_formed(c));  // the device flag is for untyped only
    c = frame;
    c.badge = 5;
    CHECK_FALSE(well_formed(c));
    c = frame;
    c.object = base + 0x800;
    CHECK_FALSE(well_formed(c));
    c = frame;
    c.object = ~0ull & ~0xFFFull;
    CHECK_FALSE(well_formed(c));  // beyond the physical address space
    c.object = 1ull << 48;
    CHECK_FALSE(well_formed(c));
    c.object = (1ull << 48) - 4096;
    CHECK(well_formed(c));
    c = frame;
    c.word64 = 0x1000;
    CHECK_FALSE(well_formed(c));  // an IPA without a partition
    c.word32 = 1;
    CHECK(well_formed(c));
    CHECK(c.mapped());
    CHECK(c.mapped_partition() == PartitionId(0));  // stored as index + 1 (0: unmapped)
    CHECK(c.mapped_ipa() == 0x1000);

    Capability irq = make_cap(ObjectType::IrqHandler, 40, 0, Rights::control());
    CHECK(well_formed(irq));
    CHECK(irq.irq() == 40);
    irq.object = 1ull << 32;
    CHECK_FALSE(well_formed(irq));
    irq.object = 7;
    irq.word32 = 1;
    CHECK_FALSE(well_formed(irq));
    CHECK_FALSE(irq.mapped());
    Capability dma = make_cap(ObjectType::DmaStream, 8, 0, Rights::control());
    CHECK(dma.stream() == 8);

    Capability ut = make_cap(ObjectType::Untyped, base, 20, Rights::write());
    ut.flags = Capability::kFlagDevice;
    CHECK(well_formed(ut));
    CHECK(ut.device());
    ut.word64 = 1u << 20;
    CHECK(well_formed(ut));
    CHECK(ut.watermark() == 1u << 20);
    ut.word64 = (1u << 20) + 1;
    CHECK_FALSE(well_formed(ut));
    ut.word64 = 0;
    ut.word32 = 3;
    CHECK_FALSE(well_formed(ut));
    ut.word32 = 0;
    ut.flags = 2;
    CHECK_FALSE(well_formed(ut));

    Capability n = make_cap(ObjectType::Notification, base, kNotificationBits, Rights::read());
    n.badge = 9;
    CHECK(well_formed(n));
}

TEST_CASE("object identity: type, object and size; untyped caps are each their own", "[caps][INV-4]") {
    const Capability f = make_cap(ObjectType::Frame, 0x4800'0000, 12, Rights::read());
    Capability g = f;
    g.rights = Rights::write();
    g.badge = 0;
    CHECK(same_object(f, g));
    g.size_bits = 21;
    CHECK_FALSE(same_object(f, g));
    g = f;
    g.object += 0x1000;
    CHECK_FALSE(same_object(f, g));
    g = f;
    g.type = ObjectType::Channel;
    CHECK_FALSE(same_object(f, g));
    const Capability u = make_cap(ObjectType::Untyped, 0x4800'0000, 12, Rights::write());
    CHECK_FALSE(same_object(u, u));
    CHECK_FALSE(same_object(Capability{}, Capability{}));
}

TEST_CASE("retype tables: allowed types and sizes", "[caps][INV-4]") {
    for (ObjectType t : {ObjectType::CNode, ObjectType::Partition, ObjectType::Vcpu, ObjectType::Frame,
                         ObjectType::Notification, ObjectType::Channel}) {
        CHECK(retype_type_allowed(t, false));
        CHECK_FALSE(retype_type_allowed(t, true));
    }
    CHECK(retype_type_allowed(ObjectType::Untyped, true));
    CHECK(retype_type_allowed(ObjectType::Untyped, false));
    CHECK(retype_type_allowed(ObjectType::DeviceMmio, true));
    CHECK_FALSE(retype_type_allowed(ObjectType::DeviceMmio, false));
    for (ObjectType t : {ObjectType::Null, ObjectType::IrqHandler, ObjectType::DmaStream, static_cast<ObjectType>(42)}) {
        CHECK_FALSE(retype_type_allowed(t, false));
        CHECK_FALSE(retype_type_allowed(t, true));
        CHECK_FALSE(retype_size_valid(t, 0, 20));
    }
    CHECK(retype_size_valid(ObjectType::Untyped, 20, 20));
    CHECK_FALSE(retype_size_valid(ObjectType::Untyped, 21, 20));
    CHECK_FALSE(retype_size_valid(ObjectType::Untyped, 11, 20));
    CHECK(retype_size_valid(ObjectType::Vcpu, 0, 20));
    CHECK_FALSE(retype_size_valid(ObjectType::Vcpu, 12, 20));
    CHECK(retype_size_valid(ObjectType::Notification, 0, 20));
    CHECK(retype_size_valid(ObjectType::Frame, 21, 20));  // too big is NoMemory, not a bad size
    CHECK(retype_cap_bits(ObjectType::Vcpu, 0) == kVcpuBits);
    CHECK(retype_cap_bits(ObjectType::Notification, 0) == kNotificationBits);
    CHECK(retype_cap_bits(ObjectType::Frame, 21) == 21);
}
